#pragma once
// The page: files under --static-dir for GET and HEAD, each with its type, no-cache and nosniff.
// Paths that leave the directory are refused before any file is opened.

#include "server/http/request.hpp"
#include "server/http/responses.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message.hpp>

#include <string_view>
#include <variant>

namespace crier {

class server_state;

// An error (text), a HEAD's headers, or the file itself, streamed from disk by Beast.
using static_file_response =
    std::variant<text_response_type, boost::beast::http::response<boost::beast::http::empty_body>,
                 boost::beast::http::response<boost::beast::http::file_body>>;

// The file `req` names (a GET or HEAD). `peer` names the client in logs.
static_file_response static_file(http_request const& req, server_state& state, std::string_view peer);

} // namespace crier

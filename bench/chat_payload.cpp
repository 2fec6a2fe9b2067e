// The chat corpus of --payload words: the texts, made once from a fixed seed, and the message a
// header stands for.

#include "bench/chat_payload.hpp"

#include <cmath>
#include <iterator>

namespace crier::bench {
namespace {

// About 275 common words of English chat, most frequent first: words are drawn
// with probability falling as 1/rank, so "the" and "I" come up all the time and "deploy" seldom.
// ASCII without quotes or backslashes: every text is valid JSON string content as it is.
constexpr std::string_view words[] = {
    "I",        "the",     "to",       "you",     "a",        "and",        "it",       "is",       "that",
    "of",       "in",      "we",       "for",     "this",     "on",         "be",       "have",     "not",
    "do",       "so",      "but",      "just",    "with",     "are",        "was",      "if",       "can",
    "it's",     "at",      "all",      "what",    "my",       "I'm",        "like",     "know",     "get",
    "there",    "about",   "they",     "will",    "think",    "no",         "yes",      "me",       "out",
    "up",       "one",     "now",      "then",    "go",       "how",        "good",     "would",    "from",
    "some",     "time",    "when",     "don't",   "yeah",     "ok",         "see",      "or",       "right",
    "here",     "an",      "want",     "really",  "need",     "make",       "more",     "going",    "your",
    "our",      "had",     "did",      "has",     "who",      "been",       "much",     "still",    "thanks",
    "should",   "could",   "people",   "way",     "back",     "work",       "look",     "today",    "new",
    "too",      "again",   "any",      "why",     "well",     "let",        "day",      "thing",    "first",
    "said",     "other",   "lol",      "maybe",   "last",     "after",      "over",     "sure",     "also",
    "got",      "take",    "because",  "which",   "only",     "into",       "tomorrow", "very",     "something",
    "try",      "than",    "tell",     "can't",   "great",    "two",        "where",    "before",   "by",
    "next",     "week",    "morning",  "meeting", "call",     "later",      "these",    "those",    "them",
    "while",    "little",  "long",     "find",    "give",     "use",        "same",     "nice",     "done",
    "each",     "never",   "always",   "lunch",   "problem",  "idea",       "fine",     "feel",     "help",
    "love",     "big",     "keep",     "start",   "point",    "might",      "place",    "issue",    "fix",
    "test",     "build",   "release",  "team",    "everyone", "question",   "anyone",   "already",  "tonight",
    "probably", "pretty",  "few",      "coffee",  "home",     "office",     "minutes",  "hour",     "soon",
    "sorry",    "happy",   "weekend",  "agree",   "check",    "send",       "read",     "write",    "change",
    "plan",     "code",    "review",   "branch",  "server",   "room",       "message",  "link",     "doc",
    "page",     "number",  "small",    "old",     "best",     "better",     "wait",     "ready",    "bit",
    "half",     "free",    "open",     "close",   "run",      "ship",       "stuff",    "seems",    "working",
    "broken",   "weird",   "actually", "exactly", "almost",   "enough",     "until",    "without",  "around",
    "through",  "between", "under",    "during",  "nothing",  "everything", "somebody", "friday",   "monday",
    "slides",   "demo",    "customer", "deploy",  "staging",  "latency",    "numbers",  "graph",    "dashboard",
    "ticket",   "bug",     "patch",    "logs",    "alert",    "night",      "train",    "rain",     "movie",
    "dinner",   "music",   "game",     "book",    "city",     "trip",       "summer",   "birthday", "cake",
    "dog",      "cat",     "kids",     "school",  "phone",    "laptop",     "ages",     "awesome",  "cool",
    "haha",     "nope",    "hmm",      "wow",     "okay",
};

// Senders' names, 3 to 9 characters: sender s is users[s % size].
constexpr std::string_view users[] = {
    "alice", "bob",    "carol",  "dave",   "erin",   "frank", "grace",  "heidi",  "ivan",  "judy", "mallory",
    "niaj",  "olivia", "peggy",  "rupert", "sybil",  "trent", "victor", "walter", "yusuf", "zoe",  "amara",
    "bruno", "chen",   "dmitri", "elena",  "fatima", "goran", "hana",   "ines",   "jonas", "kofi",
};

// The parts around the header, the user and the text.
constexpr std::string_view open_id = R"({"id":")";
constexpr std::string_view open_user = R"(","user":")";
constexpr std::string_view open_text = R"(","text":")";
constexpr std::string_view close_message = R"("})";
constexpr std::size_t fixed_size =
    open_id.size() + header_size + open_user.size() + open_text.size() + close_message.size();
static_assert(open_id.size() == chat_corpus::header_offset);

// Text lengths that keep every message within [min_size, max_size] whatever the user's name.
constexpr std::size_t min_user = 3, max_user = 9;
constexpr std::size_t min_text = chat_corpus::min_size - fixed_size - min_user; // 78
constexpr std::size_t max_text = chat_corpus::max_size - fixed_size - max_user; // 222

// splitmix64: small, fast, and the same sequence everywhere.
struct rng {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; } // [0, 1)
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }
};

// A rank with probability about proportional to 1/(rank+1): exp(u ln n) is log-uniform on [1, n).
std::size_t zipf(rng& r, std::size_t n) {
  auto const x = std::exp(r.unit() * std::log(static_cast<double>(n)));
  auto const k = static_cast<std::size_t>(x) - 1;
  return k < n ? k : n - 1;
}

// One text: sentences of 3 to 14 words until the drawn length is reached, the first word of each
// capitalised, now and then a comma, ending in . ? or !
std::string make_text(rng& r) {
  // Drawn a little above max_text's floor so that stopping at a word boundary stays within bounds.
  auto const target = min_text + 14 + r.below(max_text - min_text - 14 + 1);
  std::string t;
  std::size_t in_sentence = 0, sentence_len = 3 + r.below(12);
  while (true) {
    auto const w = words[zipf(r, std::size(words))];
    // A word, the space before it and the punctuation after it must fit.
    if (t.size() + 1 + w.size() + 1 > target) break;
    if (!t.empty()) t += ' ';
    auto const at = t.size();
    t += w;
    if (in_sentence == 0 && t[at] >= 'a' && t[at] <= 'z') t[at] = static_cast<char>(t[at] - 'a' + 'A');
    if (++in_sentence == sentence_len) {
      auto const p = r.below(20);
      t += p < 13 ? '.' : p < 18 ? '?' : '!';
      in_sentence = 0;
      sentence_len = 3 + r.below(12);
    } else if (r.below(12) == 0) {
      t += ',';
    }
  }
  if (in_sentence != 0) {
    if (t.back() == ',')
      t.back() = '.';
    else
      t += '.';
  }
  return t;
}

} // namespace

chat_corpus::chat_corpus() {
  rng r{0x63726965722d6265ULL}; // "crier-be": any fixed seed
  texts_.reserve(text_count);
  for (std::size_t i = 0; i < text_count; ++i) texts_.push_back(make_text(r));
}

std::string_view chat_corpus::user(std::uint32_t sender) const noexcept {
  return users[sender % std::size(users)];
}

void chat_corpus::write(std::string& out, header const& h) const {
  auto const u = user(h.sender);
  auto const t = text(h.sender, h.seq);
  out.clear();
  out += open_id;
  out.append(header_size, '0');
  out += open_user;
  out += u;
  out += open_text;
  out += t;
  out += close_message;
  write_header(out.data() + header_offset, h);
}

std::optional<header> chat_corpus::check(std::string_view p) const {
  if (p.size() < fixed_size || !p.starts_with(open_id)) return std::nullopt;
  auto const h = read_header(p.substr(header_offset));
  if (!h) return std::nullopt;
  auto const u = user(h->sender);
  auto const t = text(h->sender, h->seq);
  if (p.size() != fixed_size + u.size() + t.size()) return std::nullopt;
  auto rest = p.substr(header_offset + header_size);
  for (auto const part : {open_user, u, open_text, t, close_message}) {
    if (!rest.starts_with(part)) return std::nullopt;
    rest.remove_prefix(part.size());
  }
  return h;
}

} // namespace crier::bench

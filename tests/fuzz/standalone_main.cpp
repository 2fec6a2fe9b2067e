// A main() for fuzz targets in builds without libFuzzer: runs the target once on each file named
// on the command line, or on each file inside each directory named, and fails when there are none.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    fs::path const arg = argv[i];
    if (fs::is_directory(arg)) {
      for (auto const& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    } else {
      inputs.push_back(arg);
    }
  }
  std::ranges::sort(inputs);
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s FILE|DIR...: no inputs found\n", argv[0]);
    return 1;
  }
  for (auto const& input : inputs) {
    std::ifstream in(input, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", input.c_str());
      return 1;
    }
    std::string const data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::printf("running %s (%zu bytes)\n", input.c_str(), data.size());
    std::fflush(stdout);
    LLVMFuzzerTestOneInput(reinterpret_cast<std::uint8_t const*>(data.data()), data.size());
  }
  std::printf("ran %zu inputs\n", inputs.size());
  return 0;
}

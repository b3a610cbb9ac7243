// Prints, for each double given as 16 hex digits on standard input, the text kmindex's two
// libraries give it: nlohmann::json's dump() and {fmt}'s "{}". Built and run by
// tests/number_oracle.rs.
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::uint64_t bits = std::stoull(line, nullptr, 16);
    double value;
    std::memcpy(&value, &bits, sizeof value);
    std::cout << nlohmann::json(value).dump() << '\t' << fmt::format("{}", value) << '\n';
  }
}

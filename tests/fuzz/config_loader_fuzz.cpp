// Fuzz target: the configuration loader (lib/config/loader) on arbitrary
// supervisord.conf text, written to a private temporary directory that also
// holds a few files for [include] to find.
//
// The loader reads what [include] files= names. So that fuzzing reads
// nothing outside the temporary directory (no glob of "/", no /dev/zero),
// an input whose files= value holds '/', '%' (an expansion such as
// %(here)s yields an absolute path) or ".." is skipped; the patterns left
// are plain names, which the loader resolves relative to the directory.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/ini_reader.hpp"
#include "config/loader.hpp"
#include "fuzz_check.hpp"

namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  FUZZ_CHECK(static_cast<bool>(out));
}

struct FuzzDir {
  fs::path path;
  FuzzDir() {
    std::string tmpl = (fs::temp_directory_path() / "sup-fuzz-loader-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
    write_file(path / "inc-a.conf",
               "[program:included]\ncommand=/bin/cat %(here)s\nnumprocs=2\n"
               "process_name=%(program_name)s_%(process_num)02d\n");
    write_file(path / "inc-b.ini", "[group:g]\nprograms=included\n[fcgi-program:f]\ncommand=/bin/cat\nsocket=unix:///tmp/x.sock\n");
    fs::create_directory(path / "sub.conf");
  }
  ~FuzzDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// True when [include] files= (if any) can only name files in the directory.
bool includes_stay_inside(const std::string& text) {
  sup::config::IniDocument doc;
  if (!doc.read_string(text, "check.conf")) return true;  // the loader fails the same way
  if (!doc.has_section("include")) return true;
  auto files = doc.get("include", "files");
  if (!files) return true;
  return files->find_first_of("/%") == std::string::npos && files->find("..") == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FuzzDir dir;
  static const std::map<std::string, std::string> env = {{"HOME", "/root"}, {"USER", "nobody"}, {"X", "%(here)s"}};
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!includes_stay_inside(text)) return 0;
  const fs::path conf = dir.path / "supervisord.conf";
  write_file(conf, text);

  auto cfg = sup::config::load_config(conf.string(), env);
  if (cfg) {
    FUZZ_CHECK(cfg->path == conf.string());
    for (const auto& file : cfg->included_files) FUZZ_CHECK(fs::path(file).parent_path() == dir.path);
  } else {
    // A configuration error is one line (it goes to a terminal or a log).
    FUZZ_CHECK(cfg.error().find('\n') == std::string::npos);
  }
  auto ctl = sup::config::load_ctl_config(conf.string(), env);
  (void)ctl;
  return 0;
}

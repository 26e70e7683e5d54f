#include "cmd/globals.h"

#include <filesystem>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "plans/input_error.h"

namespace shardshift::cmd {

namespace {

// One JSON object per line on stderr: {"time", "level", "msg"}.
class JsonStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    nlohmann::json line = {
        {"time", fmt::format("{}.{:03d}Z", buf, ms)},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

class TextStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void SetupGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--config", options.config, "Config file naming the databases")
      ->default_str("shardshift.toml")
      ->each([&options](const std::string&) { options.config_given = true; });
  app.add_option("--log-level", options.log_level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->default_str("info");
  app.add_option("--log-format", options.log_format, "Log format on stderr")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
}

void SetupLogging(const GlobalOptions& options) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (options.log_format == "json") {
    sink = std::make_shared<JsonStderrSink>();
  } else {
    sink = std::make_shared<TextStderrSink>();
    sink->set_pattern("shardshift: %l: %v");
  }
  auto logger = std::make_shared<spdlog::logger>("shardshift", sink);
  logger->set_level(spdlog::level::from_str(options.log_level));
  spdlog::set_default_logger(logger);
}

plans::Config LoadConfigFile(const GlobalOptions& options) {
  if (!std::filesystem::exists(options.config)) {
    throw plans::InputError(plans::SourcePos{options.config}, "",
                            options.config_given
                                ? "config file not found"
                                : "config file not found (give one with --config; "
                                  "`shardshift sandbox up` writes one for local servers)");
  }
  return plans::LoadConfig(options.config);
}

db::Catalog MakeCatalog(const plans::Config& config) {
  db::Catalog catalog = db::Catalog::FromConfig(config);
  // One command opens dozens of sessions, most of them briefly (db/catalog.h says why to reuse).
  catalog.ReuseConnections(true);
  return catalog;
}

}  // namespace shardshift::cmd

//===- WorkerRequests.cpp - the worker requests' command lines ------------===//
//
// A request is written as `--option VALUE` for each option that is required or differs
// from the request's default, and `--option` alone for a flag: a flag sets its member to
// the opposite of the member's default (`--no-time` clears HarnessOptions::time).
//
//===----------------------------------------------------------------------===//
#include "WorkerRequests.h"

#include <boost/program_options.hpp>

#include <cstdint>
#include <type_traits>
#include <variant>

namespace po = boost::program_options;
using namespace blockc::tune;

namespace {

template <typename Request> struct Option {
  const char *name;
  std::variant<std::string Request::*, int64_t Request::*, int Request::*, bool Request::*>
      member;
  bool required = false;
};

constexpr bool kRequired = true;

using Compile = CompileWorkerOptions;
std::vector<Option<Compile>> optionsOf(const Compile &) {
  return {{"spec", &Compile::specPath, kRequired},
          {"target", &Compile::target, kRequired},
          {"kernel", &Compile::kernel, kRequired},
          {"precision", &Compile::precision},
          {"schedule", &Compile::scheduleJson, kRequired},
          {"out", &Compile::outputDir, kRequired},
          {"runtime", &Compile::runtimeObject},
          {"batch", &Compile::batch},
          {"inject", &Compile::inject}};
}

using Time = HarnessOptions;
std::vector<Option<Time>> optionsOf(const Time &) {
  return {{"dir", &Time::kernelDir, kRequired},
          {"batch", &Time::batch},
          {"reference", &Time::referencePath, kRequired},
          {"result", &Time::resultPath, kRequired},
          {"write-reference", &Time::writeReference},
          {"no-time", &Time::time},
          {"threads", &Time::threads},
          {"inject", &Time::inject}};
}

std::vector<Option<RuntimeRequest>> optionsOf(const RuntimeRequest &) {
  return {{"target", &RuntimeRequest::target, kRequired},
          {"out", &RuntimeRequest::objectPath, kRequired}};
}

std::string text(const std::string &value) { return value; }
template <typename Integer> std::string text(Integer value) { return std::to_string(value); }

template <typename Request>
std::vector<std::string> command(const std::string &self, const char *mode,
                                 const Request &request) {
  const Request defaults;
  std::vector<std::string> argv = {self, mode};
  for (const Option<Request> &option : optionsOf(request))
    std::visit(
        [&](auto member) {
          if (!option.required && request.*member == defaults.*member)
            return;
          argv.push_back(std::string("--") + option.name);
          if constexpr (!std::is_same_v<std::decay_t<decltype(request.*member)>, bool>)
            argv.push_back(text(request.*member));
        },
        option.member);
  return argv;
}

template <typename Request> Request parse(const std::vector<std::string> &args) {
  Request request;
  const Request defaults;
  const std::vector<Option<Request>> options = optionsOf(request);
  po::options_description desc;
  for (const Option<Request> &option : options)
    std::visit(
        [&](auto member) {
          using Value = std::decay_t<decltype(request.*member)>;
          if constexpr (std::is_same_v<Value, bool>) {
            desc.add_options()(option.name, po::bool_switch());
          } else {
            po::typed_value<Value> *value = po::value<Value>(&(request.*member));
            if (option.required)
              value->required();
            desc.add_options()(option.name, value);
          }
        },
        option.member);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  using Flag = bool Request::*;
  for (const Option<Request> &option : options)
    if (const Flag *flag = std::get_if<Flag>(&option.member))
      if (vm[option.name].template as<bool>())
        request.**flag = !(defaults.**flag);
  return request;
}

} // namespace

std::vector<std::string> blockc::tune::workerCommand(const std::string &self,
                                                     const CompileWorkerOptions &request) {
  return command(self, kCompileMode, request);
}

std::vector<std::string> blockc::tune::workerCommand(const std::string &self,
                                                     const HarnessOptions &request) {
  return command(self, kTimeMode, request);
}

CompileWorkerOptions blockc::tune::parseCompileRequest(const std::vector<std::string> &args) {
  return parse<CompileWorkerOptions>(args);
}

HarnessOptions blockc::tune::parseTimeRequest(const std::vector<std::string> &args) {
  return parse<HarnessOptions>(args);
}

RuntimeRequest blockc::tune::parseRuntimeRequest(const std::vector<std::string> &args) {
  return parse<RuntimeRequest>(args);
}

//===- ScheduleChoice.cpp - schedule choices and their knobs ---------------===//
#include "blockc/Schedule/ScheduleChoice.h"

#include "llvm/ADT/STLExtras.h"

using namespace blockc;
namespace json = llvm::json;

json::Value ScheduleChoice::toJson() const {
  json::Object knobValues;
  for (const auto &[name, value] : knobs)
    knobValues[name] = value;
  json::Object object{{"knobs", std::move(knobValues)}};
  if (!autoscheduler.empty())
    object["autoscheduler"] = autoscheduler;
  return object;
}

llvm::Expected<ScheduleChoice> ScheduleChoice::fromJson(const json::Value &value) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return llvm::createStringError("a schedule must be a JSON object");
  ScheduleChoice choice;
  for (const auto &[key, field] : *object) {
    if (key == "autoscheduler") {
      std::optional<llvm::StringRef> name = field.getAsString();
      if (!name)
        return llvm::createStringError("\"autoscheduler\" must be a string");
      choice.autoscheduler = name->str();
    } else if (key == "knobs") {
      const json::Object *knobs = field.getAsObject();
      if (!knobs)
        return llvm::createStringError("\"knobs\" must be an object");
      for (const auto &[name, knob] : *knobs) {
        std::optional<int64_t> v = knob.getAsInteger();
        if (!v)
          return llvm::createStringError("knob \"" + name.str() + "\" must be an integer");
        choice.knobs[name.str()] = *v;
      }
    } else {
      return llvm::createStringError("unknown schedule field \"" + key.str() + "\"");
    }
  }
  return choice;
}

std::string ScheduleChoice::key() const {
  std::string text = autoscheduler.empty() ? "knobs" : autoscheduler;
  for (const auto &[name, value] : knobs)
    text += " " + name + "=" + std::to_string(value);
  return text;
}

std::string ScheduleChoice::describe() const {
  if (!autoscheduler.empty())
    return autoscheduler;
  if (knobs.empty())
    return "default";
  std::string text;
  for (const auto &[name, value] : knobs)
    text += (text.empty() ? "" : " ") + name + "=" + std::to_string(value);
  return text;
}

std::vector<std::string> blockc::autoschedulersFor(bool gpu) {
  if (gpu)
    return {"Anderson2021"};
  return {"Adams2019", "Mullapudi2016"};
}

llvm::Expected<std::map<std::string, int64_t>>
blockc::resolveKnobs(const ScheduleSpace &space, const ScheduleChoice &choice) {
  std::map<std::string, int64_t> values;
  if (!choice.autoscheduler.empty()) {
    // The knobs are the autoscheduler's own integer parameters, passed as they are.
    for (bool gpu : {false, true})
      if (llvm::is_contained(autoschedulersFor(gpu), choice.autoscheduler))
        return choice.knobs;
    return llvm::createStringError("unknown autoscheduler '" + choice.autoscheduler + "'");
  }
  for (const Knob &knob : space)
    values[knob.name] = knob.defaultValue;
  for (const auto &[name, value] : choice.knobs) {
    auto knob = llvm::find_if(space, [&name = name](const Knob &k) { return k.name == name; });
    if (knob == space.end())
      return llvm::createStringError("the schedule has no knob '" + name + "'");
    if (!llvm::is_contained(knob->choices, value)) {
      std::string legal;
      for (int64_t c : knob->choices)
        legal += (legal.empty() ? "" : ", ") + std::to_string(c);
      return llvm::createStringError("knob " + name + " = " + std::to_string(value) +
                                     " is not one of its choices here (" + legal + ")");
    }
    values[name] = value;
  }
  return values;
}

//===- ScheduleChoiceTest.cpp - schedule choices and their knobs -----------===//
//
// ScheduleChoice's JSON form, key and description, and resolveKnobs' checks of a choice
// against a schedule space (blockc/Schedule/ScheduleChoice.h).
//
//===----------------------------------------------------------------------===//
#include "blockc/Schedule/ScheduleChoice.h"

#include <gtest/gtest.h>

using namespace blockc;

namespace {

ScheduleSpace tileSpace() {
  return {Knob{"tile_rows", {2, 4, 6, 8}, 6}, Knob{"loop_order", {0, 1}, 0}};
}

std::string errorText(llvm::Error err) { return llvm::toString(std::move(err)); }

TEST(ScheduleChoice, JsonRoundTrip) {
  ScheduleChoice knobs;
  knobs.knobs = {{"tile_rows", 4}, {"loop_order", 1}};
  ScheduleChoice auto_;
  auto_.autoscheduler = "Adams2019";
  auto_.knobs = {{"parallelism", 16}};
  for (const ScheduleChoice &choice : {ScheduleChoice(), knobs, auto_}) {
    llvm::Expected<ScheduleChoice> back = ScheduleChoice::fromJson(choice.toJson());
    ASSERT_TRUE(bool(back)) << errorText(back.takeError());
    EXPECT_EQ(*back, choice);
  }
}

TEST(ScheduleChoice, FromJsonErrorsNameTheField) {
  auto parse = [](llvm::StringRef text) {
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(text);
    EXPECT_TRUE(bool(value));
    llvm::Expected<ScheduleChoice> choice = ScheduleChoice::fromJson(*value);
    return choice ? std::string() : errorText(choice.takeError());
  };
  EXPECT_EQ(parse("[]"), "a schedule must be a JSON object");
  EXPECT_EQ(parse(R"({"autoscheduler": 1})"), "\"autoscheduler\" must be a string");
  EXPECT_EQ(parse(R"({"knobs": []})"), "\"knobs\" must be an object");
  EXPECT_EQ(parse(R"({"knobs": {"tile_rows": "4"}})"),
            "knob \"tile_rows\" must be an integer");
  EXPECT_EQ(parse(R"({"knob": {}})"), "unknown schedule field \"knob\"");
}

TEST(ScheduleChoice, KeyAndDescription) {
  ScheduleChoice choice;
  EXPECT_EQ(choice.key(), "knobs");
  EXPECT_EQ(choice.describe(), "default");
  choice.knobs = {{"tile_rows", 4}, {"loop_order", 1}};
  // Knobs in name order, whatever order they were set in.
  EXPECT_EQ(choice.key(), "knobs loop_order=1 tile_rows=4");
  EXPECT_EQ(choice.describe(), "loop_order=1 tile_rows=4");
  ScheduleChoice autoscheduled;
  autoscheduled.autoscheduler = "Mullapudi2016";
  EXPECT_EQ(autoscheduled.key(), "Mullapudi2016");
  EXPECT_EQ(autoscheduled.describe(), "Mullapudi2016");
  EXPECT_NE(autoscheduled.key(), choice.key());
}

TEST(ResolveKnobs, FillsInDefaults) {
  ScheduleChoice choice;
  choice.knobs = {{"loop_order", 1}};
  llvm::Expected<std::map<std::string, int64_t>> values = resolveKnobs(tileSpace(), choice);
  ASSERT_TRUE(bool(values)) << errorText(values.takeError());
  EXPECT_EQ(*values, (std::map<std::string, int64_t>{{"loop_order", 1}, {"tile_rows", 6}}));
}

TEST(ResolveKnobs, RejectsUnknownKnobsAndIllegalValues) {
  ScheduleChoice unknown;
  unknown.knobs = {{"tile_cols", 8}};
  EXPECT_EQ(errorText(resolveKnobs(tileSpace(), unknown).takeError()),
            "the schedule has no knob 'tile_cols'");
  ScheduleChoice illegal;
  illegal.knobs = {{"tile_rows", 5}};
  EXPECT_EQ(errorText(resolveKnobs(tileSpace(), illegal).takeError()),
            "knob tile_rows = 5 is not one of its choices here (2, 4, 6, 8)");
}

TEST(ResolveKnobs, PassesAnAutoschedulersParametersAsTheyAre) {
  ScheduleChoice choice;
  choice.autoscheduler = "Anderson2021";
  choice.knobs = {{"parallelism", 132}};
  llvm::Expected<std::map<std::string, int64_t>> values = resolveKnobs(tileSpace(), choice);
  ASSERT_TRUE(bool(values)) << errorText(values.takeError());
  EXPECT_EQ(*values, choice.knobs);
  choice.autoscheduler = "Li2018";
  EXPECT_EQ(errorText(resolveKnobs(tileSpace(), choice).takeError()),
            "unknown autoscheduler 'Li2018'");
}

TEST(AutoschedulersFor, CpuAndGpu) {
  EXPECT_EQ(autoschedulersFor(false), (std::vector<std::string>{"Adams2019", "Mullapudi2016"}));
  EXPECT_EQ(autoschedulersFor(true), (std::vector<std::string>{"Anderson2021"}));
}

} // namespace

#include "daemon/core/utc_calendar.h"

namespace tact {
namespace {

constexpr int64_t kDaysPerEra = 146'097;       // 400 years
constexpr int64_t kEpochFromMarch0 = 719'468;  // days from 0000-03-01 to 1970-01-01

bool IsLeap(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int DaysIn(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

}  // namespace

CivilUtc ToCivilUtc(int64_t seconds) {
  int64_t days = seconds / 86'400;
  int64_t in_day = seconds % 86'400;
  if (in_day < 0) {
    in_day += 86'400;
    --days;
  }
  days += kEpochFromMarch0;  // a 400-year era starts on a March 1, so February 29 ends a year
  const int64_t era = (days >= 0 ? days : days - (kDaysPerEra - 1)) / kDaysPerEra;
  const int64_t day_of_era = days - era * kDaysPerEra;
  const int64_t year_of_era = (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_from_march = (5 * day_of_year + 2) / 153;
  CivilUtc c;
  c.day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  c.month = static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  c.year = static_cast<int>(year_of_era + era * 400 + (c.month <= 2 ? 1 : 0));
  c.hour = static_cast<int>(in_day / 3'600);
  c.minute = static_cast<int>(in_day / 60 % 60);
  c.second = static_cast<int>(in_day % 60);
  return c;
}

bool FromCivilUtc(const CivilUtc& c, int64_t* seconds) {
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > DaysIn(c.year, c.month) || c.hour < 0 || c.hour > 23 ||
      c.minute < 0 || c.minute > 59 || c.second < 0 || c.second > 59) {
    return false;
  }
  const int64_t year = c.year - (c.month <= 2 ? 1 : 0);  // the year of its era's March 1
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t month_from_march = c.month > 2 ? c.month - 3 : c.month + 9;
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + c.day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  const int64_t days = era * kDaysPerEra + day_of_era - kEpochFromMarch0;
  *seconds = days * 86'400 + c.hour * 3'600 + c.minute * 60 + c.second;
  return true;
}

}  // namespace tact

# Reference values for the nadirs: each patient's lowest count in the nadir window, and
# wilcox.test for the nadir comparisons.
# Usage: Rscript nadir_reference.R PAIRS_CSV OUT_CSV   (PAIRS_CSV: comparison, group (1/2), value)
#    or: Rscript nadir_reference.R --nadirs LABS_CSV PATIENTS_CSV RANGES_CSV START_DAY \
#          DAYS_AFTER_END_OF_TREATMENT UNTIL_PROGRESSION OUT_CSV
#   LABS_CSV: patient_id, day, test, value, unit (harmonised units);
#   PATIENTS_CSV: patient_id, progression_day, end_of_treatment_day (blank = none);
#   RANGES_CSV: test, unit, low, high (values outside are left out, as rwe.plausibility does).
#   The window: day START_DAY to min(progression_day if UNTIL_PROGRESSION is TRUE,
#   end_of_treatment_day + DAYS_AFTER_END_OF_TREATMENT), both ends included; no end when both
#   are blank.
args <- commandArgs(trailingOnly = TRUE)
if (args[1] == "--nadirs") {
  labs <- read.csv(args[2], stringsAsFactors = FALSE)
  patients <- read.csv(args[3], stringsAsFactors = FALSE)
  ranges <- read.csv(args[4], stringsAsFactors = FALSE)
  start_day <- as.numeric(args[5])
  offset <- as.numeric(args[6])
  until_progression <- as.logical(args[7])
  end <- pmin(Inf, patients$end_of_treatment_day + offset, na.rm = TRUE)
  if (until_progression) end <- pmin(end, patients$progression_day, na.rm = TRUE)
  windows <- data.frame(patient_id = patients$patient_id, end_day = end)
  d <- merge(labs[labs$test %in% c("WBC", "ANC", "HGB", "PLT"), ], windows, by = "patient_id")
  d <- merge(d, ranges, by = c("test", "unit"), all.x = TRUE)
  plausible <- is.na(d$low) | (d$value >= d$low & d$value <= d$high)
  d <- d[d$day >= start_day & d$day <= d$end_day & plausible, ]
  nadirs <- aggregate(value ~ patient_id + test, data = d, FUN = min)
  names(nadirs)[names(nadirs) == "value"] <- "nadir"
  write.csv(nadirs, args[8], row.names = FALSE)
} else {
  pairs <- read.csv(args[1], stringsAsFactors = FALSE)
  tests <- do.call(rbind, lapply(split(pairs, pairs$comparison), function(d) {
    t <- suppressWarnings(wilcox.test(d$value[d$group == 1], d$value[d$group == 2]))  # ties: R warns, uses the normal approximation
    data.frame(comparison = d$comparison[1], W = unname(t$statistic), p = t$p.value)
  }))
  write.csv(tests, args[2], row.names = FALSE)
}

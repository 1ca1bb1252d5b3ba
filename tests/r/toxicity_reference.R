# Reference values for the safety tables, computed independently of rwe:
#   hematologic toxicity reported vs graded from the blood counts (CTCAE v5 thresholds, written
#   out below from the CTCAE v5.0 document), treatment-emergent window, worst grade per patient,
#   exact CIs by binom.test; what the window counted out; exact CIs of given counts.
# Usage: Rscript toxicity_reference.R --toxicity PATIENTS_CSV AE_CSV LABS_CSV RANGES_CSV \
#          START_DAY DAYS_AFTER_END_OF_TREATMENT UNTIL_PROGRESSION CONF_LEVEL OUT_DIR
#   PATIENTS_CSV: site, patient_id, analysis_set, progression_day, end_of_treatment_day (one
#     row per patient and set the patient belongs to; blank = none);
#   AE_CSV: site, patient_id, term, grade, onset_day (every reported AE);
#   LABS_CSV: site, patient_id, day, test, value, unit (harmonised units);
#   RANGES_CSV: test, unit, low, high (values outside are implausible, as rwe.plausibility).
#   Writes OUT_DIR/hematologic_toxicity.csv and OUT_DIR/safety_window.csv.
#    or: Rscript toxicity_reference.R --ci COUNTS_CSV CONF_LEVEL OUT_CSV
#   COUNTS_CSV: row, n, N; writes row, ci_lower, ci_upper (percent) of binom.test(n, N).
args <- commandArgs(trailingOnly = TRUE)

exact <- function(x, n, conf_level) {
  if (n == 0) return(c(NA, NA))
  100 * binom.test(x, n, conf.level = conf_level)$conf.int[1:2]
}

if (args[1] == "--ci") {
  counts <- read.csv(args[2], stringsAsFactors = FALSE)
  conf_level <- as.numeric(args[3])
  ci <- t(mapply(exact, counts$n, counts$N, MoreArgs = list(conf_level = conf_level)))
  write.csv(data.frame(row = counts$row, ci_lower = ci[, 1], ci_upper = ci[, 2]), args[4],
            row.names = FALSE)
  quit(save = "no")
}

patients <- read.csv(args[2], stringsAsFactors = FALSE)
ae <- read.csv(args[3], stringsAsFactors = FALSE)
labs <- read.csv(args[4], stringsAsFactors = FALSE)
ranges <- read.csv(args[5], stringsAsFactors = FALSE)
start_day <- as.numeric(args[6])
offset <- as.numeric(args[7])
until_progression <- as.logical(args[8])
conf_level <- as.numeric(args[9])
out_dir <- args[10]
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# The window of each patient: start_day to min(progression (if asked), end of treatment + offset).
one <- patients[!duplicated(patients[, c("site", "patient_id")]), ]
end <- pmin(Inf, one$end_of_treatment_day + offset, na.rm = TRUE)
if (until_progression) end <- pmin(end, one$progression_day, na.rm = TRUE)
windows <- data.frame(site = one$site, patient_id = one$patient_id, end_day = end)

# CTCAE v5.0: grade by the lowest bound the value is under (LLN ANC 1.8, PLT 150, WBC 4, HGB 12).
ctcae <- list(
  ANC = c(1.8, 1.5, 1.0, 0.5),   # grade 1, 2, 3, 4: value < bound
  PLT = c(150, 75, 50, 25),
  WBC = c(4.0, 3.0, 2.0, 1.0),
  HGB = c(12, 10, 8)            # no laboratory grade 4
)
terms <- c(ANC = "Neutrophil count decreased", HGB = "Anemia",
           PLT = "Platelet count decreased", WBC = "White blood cell decreased")
grade_of <- function(test, value) {
  mapply(function(t, v) sum(v < ctcae[[t]]), test, value)
}

# Blood counts: window, then plausibility.
d <- merge(labs[labs$test %in% names(terms), ], windows, by = c("site", "patient_id"))
d <- merge(d, ranges, by = c("test", "unit"), all.x = TRUE)
d$before <- d$day < start_day
d$after <- d$day > d$end_day
d$implausible <- !d$before & !d$after & !is.na(d$low) & (d$value < d$low | d$value > d$high)
d$graded <- !d$before & !d$after & !d$implausible
window <- do.call(rbind, lapply(names(terms), function(t) {
  x <- d[d$test == t, ]
  data.frame(records = t, n_records = nrow(x), n_before_window = sum(x$before),
             n_after_window = sum(x$after), n_implausible = sum(x$implausible),
             n_analysed = sum(x$graded))
}))
g <- d[d$graded, ]
g$grade <- grade_of(g$test, g$value)
lab_worst <- aggregate(grade ~ site + patient_id + test, data = g, FUN = max)

# Reported AEs: onset in the window.
a <- merge(ae, windows, by = c("site", "patient_id"))
a$in_window <- a$onset_day >= start_day & a$onset_day <= a$end_day
window <- rbind(data.frame(records = "reported adverse events", n_records = nrow(a),
                           n_before_window = sum(a$onset_day < start_day),
                           n_after_window = sum(a$onset_day > a$end_day),
                           n_implausible = 0, n_analysed = sum(a$in_window)), window)
write.csv(window, file.path(out_dir, "safety_window.csv"), row.names = FALSE)
a <- a[a$in_window, ]
a$test <- names(terms)[match(tolower(trimws(a$term)), tolower(terms))]
a <- a[!is.na(a$test), ]
rep_worst <- if (nrow(a)) aggregate(grade ~ site + patient_id + test, data = a, FUN = max) else
  data.frame(site = character(), patient_id = character(), test = character(), grade = numeric())

worst <- function(table, set_patients, tests) {
  # A patient's worst grade over `tests` (0 when none).
  key <- paste(set_patients$site, set_patients$patient_id)
  x <- table[table$test %in% tests, ]
  if (!nrow(x)) return(rep(0, length(key)))
  m <- tapply(x$grade, paste(x$site, x$patient_id), max)
  out <- as.numeric(m[key])
  ifelse(is.na(out), 0, out)
}
bands <- c(any = 1, ge3 = 3, ge4 = 4)
rows <- list()
for (set in unique(patients$analysis_set)) {
  members <- patients[patients$analysis_set == set, ]
  N <- nrow(members)
  for (test in c(names(terms), "any")) {
    tests <- if (test == "any") names(terms) else test
    grades <- list(reported = worst(rep_worst, members, tests),
                   labs = worst(lab_worst, members, tests))
    grades$either <- pmax(grades$reported, grades$labs)
    has <- paste(members$site, members$patient_id) %in% paste(g$site, g$patient_id)[g$test %in% tests]
    for (band in names(bands)) for (source in names(grades)) {
      n <- sum(grades[[source]] >= bands[[band]])
      ci <- exact(n, N, conf_level)
      rows[[length(rows) + 1]] <- data.frame(
        analysis_set = set, test = test, grade_group = band, source = source, n = n, N = N,
        percent = 100 * n / N, ci_lower = ci[1], ci_upper = ci[2], n_with_labs = sum(has))
    }
  }
}
write.csv(do.call(rbind, rows), file.path(out_dir, "hematologic_toxicity.csv"), row.names = FALSE)

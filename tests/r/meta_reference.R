# Reference values for rwe.meta with R's metafor: rma(yi, vi, method, test) (default I^2
# definition), predict() (prediction interval) and confint() (Q-profile CIs of tau^2, tau, I^2, H^2).
# Usage: Rscript meta_reference.R CASES_CSV OUT_CSV CONF_LEVEL
# CASES_CSV: case, yi, vi (one row per site). OUT_CSV: one row per case, method and test.
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "meta_fit.R"))
cases <- read.csv(args[1], stringsAsFactors = FALSE)
conf_level <- as.numeric(args[3])
rows <- list()
for (case in unique(cases$case)) {
  d <- cases[cases$case == case, ]
  for (method in c("FE", "DL", "REML")) for (test in c("z", "knha")) {
    if (method == "FE" && test == "knha") next  # metafor: "not meant to be used" with FE
    row <- suppressWarnings(meta_fit(d$yi, d$vi, method, test, conf_level))
    rows[[length(rows) + 1]] <- cbind(data.frame(case = case, method = method, test = test), row)
  }
}
write.csv(do.call(rbind, rows), args[2], row.names = FALSE)

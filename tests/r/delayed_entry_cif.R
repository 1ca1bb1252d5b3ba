# Aalen–Johansen cumulative incidence with delayed entry, with R's survival package.
#
# Usage: Rscript delayed_entry_cif.R DATA_CSV OUT_CSV
# DATA_CSV has entry, time, status (0 censored, else the cause), w, weighted (1 = use w). Writes
# every time and cause of survfit(Surv(entry, time, factor(status)) ~ 1, id = id[, weights = w])
# (each row its own subject): the probability (pstate) and its infinitesimal-jackknife std.err.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); d$id <- seq_len(nrow(d))
out <- list()
for (weighted in c(0, 1)) {
  f <- if (weighted == 1) survfit(Surv(entry, time, factor(status)) ~ 1, data = d, weights = w, id = id)
       else survfit(Surv(entry, time, factor(status)) ~ 1, data = d, id = id)
  causes <- as.integer(f$states[-1])
  for (j in seq_along(causes)) out[[length(out) + 1]] <- data.frame(weighted = weighted,
    cause = causes[j], time = f$time, cif = f$pstate[, j + 1], std_err = f$std.err[, j + 1])
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE)

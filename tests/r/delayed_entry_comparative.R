# The comparative analysis's hazard ratios, Kaplan–Meier medians and RMST with delayed entry,
# with R's survival package, on the weighted cohort rwe analysed.
#
# Usage: Rscript delayed_entry_comparative.R COHORT_CSV OUT_DIR TIES
# COHORT_CSV: treated (1/0), weight, and pfs_/os_ entry, time, event (months). Per endpoint:
# coxph(Surv(entry, time, event) ~ treated, ties = TIES) unweighted, and with weights = weight,
# robust = TRUE (R needs id = with counting-process data: one per patient); per group survfit(Surv(entry, time, event) ~ 1 [, weights = weight]): median
# and CI (quantile) and the restricted mean (print(fit, rmean = tau)) up to tau = the largest
# time both groups reach.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); out_dir <- args[2]; ties <- args[3]
hr <- list(); km <- list(); rm <- list()
for (ep in c("pfs", "os")) {
  x <- data.frame(entry = d[[paste0(ep, "_entry")]], time = d[[paste0(ep, "_time")]],
                  event = d[[paste0(ep, "_event")]], treated = d$treated, w = d$weight,
                  id = seq_len(nrow(d)))  # one row per patient: each its own cluster
  tau <- min(max(x$time[x$treated == 1]), max(x$time[x$treated == 0]))
  for (method in c("unweighted", "weighted")) {
    f <- if (method == "weighted") {
      coxph(Surv(entry, time, event) ~ treated, data = x, weights = w, robust = TRUE, id = id, ties = ties)
    } else coxph(Surv(entry, time, event) ~ treated, data = x, ties = ties)
    s <- summary(f)
    hr[[length(hr) + 1]] <- data.frame(endpoint = toupper(ep), method = method, hr = s$conf.int[1, 1],
      ci_lower = s$conf.int[1, 3], ci_upper = s$conf.int[1, 4], p = s$coefficients[1, ncol(s$coefficients)])
    for (g in c(1, 0)) {
      y <- x[x$treated == g, ]
      k <- if (method == "weighted") survfit(Surv(entry, time, event) ~ 1, data = y, weights = w)
           else survfit(Surv(entry, time, event) ~ 1, data = y)
      q <- quantile(k, probs = 0.5)
      km[[length(km) + 1]] <- data.frame(endpoint = toupper(ep), method = method, treated = g,
        estimate = q$quantile, ci_lower = q$lower, ci_upper = q$upper)
      m <- summary(k, rmean = tau)$table
      rm[[length(rm) + 1]] <- data.frame(endpoint = toupper(ep), method = method, treated = g,
        tau = tau, estimate = m[["rmean"]], se = m[["se(rmean)"]])
    }
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, hr), file.path(out_dir, "effects.csv"), row.names = FALSE)
write.csv(do.call(rbind, km), file.path(out_dir, "km.csv"), row.names = FALSE)
write.csv(do.call(rbind, rm), file.path(out_dir, "rmst.csv"), row.names = FALSE)

# Weighted Kaplan–Meier curves with delayed entry, with R's survival package.
#
# Usage: Rscript delayed_entry_weighted.R DATA_CSV OUT_DIR TAU CONF_TYPE
# DATA_CSV has entry, time, event, w (case weights), group. Per group: every step of
# survfit(Surv(entry, time, event) ~ 1, weights = w, conf.type = CONF_TYPE) (fractional weights:
# R's infinitesimal-jackknife variance), its median and CI (quantile) and the restricted mean
# up to TAU with its SE (print(fit, rmean = TAU)).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); out_dir <- args[2]; tau <- as.numeric(args[3]); conf_type <- args[4]
curves <- list(); summaries <- list()
for (g in sort(unique(d$group))) {
  x <- d[d$group == g, ]
  f <- survfit(Surv(entry, time, event) ~ 1, data = x, weights = w, conf.type = conf_type)
  curves[[length(curves) + 1]] <- data.frame(group = g, time = f$time, n_risk = f$n.risk,
    n_event = f$n.event, surv = f$surv, ci_lower = f$lower, ci_upper = f$upper)
  q <- quantile(f, probs = 0.5)
  m <- summary(f, rmean = tau)$table
  summaries[[length(summaries) + 1]] <- data.frame(group = g, median = q$quantile, median_lower = q$lower,
    median_upper = q$upper, rmean = m[["rmean"]], rmean_se = m[["se(rmean)"]])
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, curves), file.path(out_dir, "curves.csv"), row.names = FALSE)
write.csv(do.call(rbind, summaries), file.path(out_dir, "summaries.csv"), row.names = FALSE)

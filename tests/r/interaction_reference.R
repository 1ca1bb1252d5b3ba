# Reference values for rwe.subgroups.interaction_table: the treatment HR within each level of a
# subgroup flag (coxph on the level's patients, Wald CI) and the likelihood-ratio test of the
# treatment x flag interaction, anova(coxph(~ treat + flag), coxph(~ treat * flag)).
#
# With STRATA = 1 every model has + strata(site) (a baseline hazard per site).
#
# Usage: Rscript interaction_reference.R DATA_CSV OUT_DIR TIES CONF_LEVEL [STRATA]
# DATA_CSV: endpoint, variable, time, status, treat, flag (and site with STRATA = 1), one row per
# patient and flag, the patients with the flag known. Writes OUT_DIR/levels.csv (endpoint, variable, level, hr,
# ci_lower, ci_upper) and OUT_DIR/interactions.csv (endpoint, variable, interaction_chisq,
# interaction_df, interaction_p).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE); out_dir <- args[2]
ties <- args[3]; conf <- as.numeric(args[4])
strata <- length(args) >= 5 && args[5] == "1"
rhs <- function(terms) paste(terms, if (strata) "+ strata(site)" else "")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
levels_out <- list(); inter_out <- list()
for (key in unique(paste(d$endpoint, d$variable))) {
  part <- d[paste(d$endpoint, d$variable) == key, ]
  reduced <- coxph(as.formula(paste("Surv(time, status) ~", rhs("treat + flag"))),
                   data = part, ties = ties)
  full <- coxph(as.formula(paste("Surv(time, status) ~", rhs("treat * flag"))),
                data = part, ties = ties)
  a <- anova(reduced, full)
  inter_out[[key]] <- data.frame(endpoint = part$endpoint[1], variable = part$variable[1],
    interaction_chisq = a$Chisq[2], interaction_df = a$Df[2],
    interaction_p = a[["Pr(>|Chi|)"]][2])
  for (lv in sort(unique(part$flag))) {
    fit <- coxph(as.formula(paste("Surv(time, status) ~", rhs("treat"))),
                 data = part[part$flag == lv, ], ties = ties)
    ci <- summary(fit, conf.int = conf)$conf.int
    levels_out[[paste(key, lv)]] <- data.frame(endpoint = part$endpoint[1],
      variable = part$variable[1], level = lv, hr = ci[1, 1], ci_lower = ci[1, 3],
      ci_upper = ci[1, 4])
  }
}
write.csv(do.call(rbind, levels_out), file.path(out_dir, "levels.csv"), row.names = FALSE)
write.csv(do.call(rbind, inter_out), file.path(out_dir, "interactions.csv"), row.names = FALSE)

# Reference values for the IMWG response tables: duration of response (survfit + quantile) and
# Cohen's kappa with its Fleiss-Cohen-Everitt (1969) standard error, computed by hand.
# Usage: Rscript imwg_reference.R DOR_CSV AGREEMENT_CSV OUT_DIR CONF_TYPE CONF_LEVEL
#   DOR_CSV: source, months, event, ttr_months (one row per dated responder)
#   AGREEMENT_CSV: derived, recorded (one row per patient with both)
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
dor <- read.csv(args[1], stringsAsFactors = FALSE)
pairs <- read.csv(args[2], stringsAsFactors = FALSE)
out_dir <- args[3]; conf_type <- args[4]; conf_level <- as.numeric(args[5])
rows <- list()
for (s in unique(dor$source)) {
  d <- dor[dor$source == s, ]
  fit <- survfit(Surv(months, event) ~ 1, data = d, conf.type = conf_type, conf.int = conf_level)
  q <- quantile(fit, probs = 0.5)
  rows[[length(rows) + 1]] <- data.frame(
    analysis_set = "all", source = s, n = nrow(d), events = sum(d$event),
    median = unname(q$quantile), ci_lower = unname(q$lower), ci_upper = unname(q$upper),
    ttr_median = median(d$ttr_months), ttr_min = min(d$ttr_months), ttr_max = max(d$ttr_months))
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, rows), file.path(out_dir, "duration_of_response.csv"), row.names = FALSE)
# Kappa by hand: loops over the cells, no package.
levels <- union(pairs$derived, pairs$recorded)
tab <- table(factor(pairs$derived, levels), factor(pairs$recorded, levels))
n <- sum(tab); p <- tab / n; k <- length(levels)
row_tot <- rowSums(p); col_tot <- colSums(p)
po <- sum(diag(p)); pe <- sum(row_tot * col_tot)
kappa <- (po - pe) / (1 - pe)
total <- 0
for (i in 1:k) for (j in 1:k) {
  w <- (if (i == j) 1 else 0) - (1 - kappa) * (col_tot[i] + row_tot[j])
  total <- total + p[i, j] * w^2
}
se <- sqrt((total - (kappa - pe * (1 - kappa))^2) / ((1 - pe)^2 * n))
z <- qnorm(1 - (1 - conf_level) / 2)
write.csv(data.frame(statistic = c("agreement", "kappa"), value = c(po, kappa),
                     ci_lower = c(NA, kappa - z * se), ci_upper = c(NA, kappa + z * se)),
          file.path(out_dir, "response_agreement.csv"), row.names = FALSE)

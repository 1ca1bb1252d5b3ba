# Reference values of wilcox.test for the nadir comparisons.
# Usage: Rscript nadir_reference.R PAIRS_CSV OUT_CSV   (PAIRS_CSV: comparison, group (1/2), value)
args <- commandArgs(trailingOnly = TRUE)
pairs <- read.csv(args[1], stringsAsFactors = FALSE)
tests <- do.call(rbind, lapply(split(pairs, pairs$comparison), function(d) {
  t <- suppressWarnings(wilcox.test(d$value[d$group == 1], d$value[d$group == 2]))  # ties: R warns, uses the normal approximation
  data.frame(comparison = d$comparison[1], W = unname(t$statistic), p = t$p.value)
}))
write.csv(tests, args[2], row.names = FALSE)

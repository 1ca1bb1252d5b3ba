# Export one of R survival's bundled datasets as CSV: Rscript export_dataset.R NAME OUT.csv
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
data <- get(args[1], envir = asNamespace("survival"))
write.csv(data, args[2], row.names = FALSE)

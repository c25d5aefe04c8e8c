# Writes the Lending Club loans of Debian's r-cran-modeldata package (R data set
# modeldata::lending_club: 9 857 loans, 517 of them "bad", i.e. 5.2 %) as two files in the folder
# given as the first argument:
#   loans.csv          the first 8 000 loans with their outcome `Class` (good / bad): the history to train on
#   applications.json  the other 1 857 loans without `Class`: new applications to score
# The data is converted on your machine and never redistributed with Kiln.
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[[1]] else "."
dir.create(out, showWarnings = FALSE, recursive = TRUE)
suppressMessages(library(modeldata))
data(lending_club, package = "modeldata")
loans <- as.data.frame(lending_club)
for (col in names(loans)) if (is.factor(loans[[col]])) loans[[col]] <- as.character(loans[[col]])
history <- loans[1:8000, ]
applications <- loans[8001:nrow(loans), setdiff(names(loans), "Class")]
write.csv(history, file.path(out, "loans.csv"), row.names = FALSE)
# One JSON object per application (jsonlite is not needed: every value is a plain number or string).
quote <- function(v) if (is.character(v)) paste0('"', v, '"') else format(v, scientific = FALSE, trim = TRUE)
rows <- vapply(seq_len(nrow(applications)), function(i) {
  r <- applications[i, ]
  paste0("{", paste0('"', names(r), '":', vapply(r, quote, ""), collapse = ","), "}")
}, "")
writeLines(c("[", paste0(rows, c(rep(",", length(rows) - 1), "")), "]"), file.path(out, "applications.json"))
cat(sprintf("wrote %s: loans.csv (%d loans, %d bad) and applications.json (%d applications)\n",
            out, nrow(history), sum(history$Class == "bad"), nrow(applications)))

//===- Report.h - blockc-tune report ------------------------------*- C++ -*-===//
//
// `blockc-tune report DB [--png FILE]`: a table of the database's records (default versus
// tuned time per kernel) and the tuning curve, drawn from the trial log DB.trials with
// PLplot into a PNG (docs/tuning.md).
//
//===----------------------------------------------------------------------===//
#ifndef BLOCKC_TUNE_REPORT_H
#define BLOCKC_TUNE_REPORT_H

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace blockc {

/// Prints the table of the tuning database at `dbPath` to stdout and draws the tuning
/// curve from `dbPath + ".trials"` into `pngPath` (empty: `dbPath + ".png"`). Errors go
/// to stderr. Returns the process exit code: 0 also when there is no trial log (the table
/// is printed and the report says no curve was drawn), 1 when the database cannot be read
/// or the PNG cannot be written.
int runReport(const std::string &dbPath, const std::string &pngPath);

/// The same, printing to `out` and `err`.
int runReport(const std::string &dbPath, const std::string &pngPath, llvm::raw_ostream &out,
              llvm::raw_ostream &err);

/// `value` with `decimals` digits after the point, for a table cell.
std::string fixed(double value, int decimals);

/// Prints rows as columns separated by two spaces; `rightAligned[i]` for numbers. The last
/// column is not padded.
void printTable(llvm::raw_ostream &out, const std::vector<std::vector<std::string>> &rows,
                const std::vector<bool> &rightAligned);

} // namespace blockc

#endif // BLOCKC_TUNE_REPORT_H

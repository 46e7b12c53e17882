"use strict";
// The spec reporter, keeping the run's totals so that the `test` task can close the whole output (after the
// gas report) with one plain summary line, `N passed, N failed, N skipped`, which CI reads.
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      SummaryReporter.summary = `${passes} passed, ${failures} failed, ${pending} skipped`;
    });
  }
}

SummaryReporter.summary = undefined;
module.exports = SummaryReporter;

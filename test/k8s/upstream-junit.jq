# Turns e2e.test's ginkgo JSON report (-ginkgo.json-report) into one JUnit
# testsuite that junitsum counts:
#
#   jq -r -f test/k8s/upstream-junit.jq upstream.json > junit/upstream.xml
#
# Ginkgo reports every spec of the binary, and those left out by
# -ginkgo.focus/-ginkgo.skip as "skipped" with no failure: they are dropped,
# so "skipped" counts only the tests that ran and skipped themselves (their
# reason is the message). Suite-level nodes (BeforeSuite, ReportAfterSuite)
# count only when they failed: a broken setup must not look green.
def esc: tostring | @html;
def name: ((.ContainerHierarchyTexts // []) + [if (.LeafNodeText // "") == "" then .LeafNodeType else .LeafNodeText end]) | map(select(. != "")) | join(" ");
def ran: (.State != "skipped") or ((.Failure.Message // "") != "");
[ .[].SpecReports[]?
  | select(ran)
  | select(.LeafNodeType == "It" or (.State != "passed" and .State != "skipped")) ] as $specs
| ($specs | map(select(.State != "passed" and .State != "skipped")) | length) as $failed
| ($specs | map(select(.State == "skipped")) | length) as $skipped
| "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
  "<testsuites>",
  "  <testsuite name=\"upstream-storage\" tests=\"\($specs | length)\" failures=\"\($failed)\" errors=\"0\" skipped=\"\($skipped)\">",
  ($specs[]
    | "    <testcase classname=\"upstream-storage\" name=\"\(name | esc)\" time=\"\((.RunTime // 0) / 1e9)\">"
      + (if .State == "passed" then ""
         elif .State == "skipped" then "<skipped message=\"\(.Failure.Message | esc)\"></skipped>"
         else "<failure message=\"\(.State | esc)\">\((.Failure.Message // "") + "\n" + (.Failure.Location.FileName // "") + ":" + ((.Failure.Location.LineNumber // 0) | tostring) | esc)</failure>"
         end)
      + "</testcase>"),
  "  </testsuite>",
  "</testsuites>"

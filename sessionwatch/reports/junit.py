"""JUnit XML: one ``testcase`` per rule case (``test``) or per rule file (``validate``).

The layout is the one CI systems read (Jenkins, GitLab, GitHub test reporters): a ``testsuites``
root with counts, one ``testsuite``, and ``failure`` / ``error`` children holding the diff.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sessionwatch.reports.human import plural
from sessionwatch.reports.model import CaseOutcome, Problem, Report, Status


def _suite(report: Report) -> ET.Element:
    suite = ET.Element("testsuite", name=f"sessionwatch {report.command}")
    if report.command == "test":
        for case in report.cases:
            suite.append(_case_element(case))
        grouped = report.problem_files()
        for path in sorted(grouped):  # rules that could not be loaded, so had no case to run
            suite.append(_file_element(report, path, grouped[path]))
    else:
        grouped = report.problem_files()
        for path in sorted(set(report.files) | set(grouped)):
            suite.append(_file_element(report, path, grouped.get(path, [])))
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
    suite.set("time", _seconds(report.seconds))
    return suite


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _case_element(case: CaseOutcome) -> ET.Element:
    element = ET.Element(
        "testcase",
        classname=case.rule,
        name=case.case,
        file=case.location.path,
        line=str(case.location.line),
        time=_seconds(case.seconds),
    )
    if case.status is not Status.PASSED:
        tag = "error" if case.status is Status.ERROR else "failure"
        first = case.details[0] if case.details else case.status.value
        child = ET.SubElement(element, tag, message=first, type=f"sessionwatch.{case.status.value}")
        child.text = "\n".join([str(case.location), *case.details])
    return element


def _file_element(report: Report, path: str, problems: list[Problem]) -> ET.Element:
    element = ET.Element(
        "testcase",
        classname="sessionwatch.validate",
        name=path or "(no file)",
        file=path,
        time=_seconds(report.file_seconds.get(path, 0.0)),
    )
    errors = [p for p in problems if report.failing(p)]
    if errors:
        child = ET.SubElement(
            element, "failure", message=plural(len(errors), "problem"), type="sessionwatch.validate"
        )
        child.text = "\n".join(_line(p) for p in problems)
    elif problems:  # warnings only: the file passes, the findings stay visible
        ET.SubElement(element, "system-out").text = "\n".join(_line(p) for p in problems)
    return element


def _line(problem: Problem) -> str:
    where = f"{problem.location}: " if problem.location is not None else ""
    pointer = f" ({problem.location.pointer})" if problem.location and problem.location.pointer else ""
    return f"{where}{problem.level} {problem.check}: {problem.message}{pointer}"


def to_junit(report: Report) -> str:
    """The JUnit XML document of ``report``."""
    suite = _suite(report)
    root = ET.Element("testsuites", name="sessionwatch")
    for attribute in ("tests", "failures", "errors", "skipped", "time"):
        root.set(attribute, suite.get(attribute, "0"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

"""The parts of the grader (``python -m tools.grade``), named by what they do.

- ``submission``: the answers of a submission, and nothing else of it;
- ``workspace``: the grader's private copy of the reference, and the fresh
  folders in which the student's code runs;
- ``sandbox``: running the student's code as a user of its own, with
  limits, and killing every process it started;
- ``probe``: the grader's code that runs beside the student's and reports
  plain data;
- ``judge``: the verdict, from the student's and the reference's data;
- ``report``: the table and Gradescope's results.json.
"""

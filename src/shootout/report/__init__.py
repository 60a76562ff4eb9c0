"""The comparative report: gather one or more stored runs (model), analyse them (build:
comparisons, domain scores, rankings, takeaways, per-item evidence) and render them as Markdown
with PNG charts (markdown, charts) or as one self-contained HTML page (html, svg).

    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown
    from shootout.report.html import render_html
"""

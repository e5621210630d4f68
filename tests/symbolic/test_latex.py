"""Every registered derivation's LaTeX is valid: structurally in the default suite, and compiled
with pdflatex when a TeX installation is present.

The paper includes ``derive(name).latex()`` (``align*``) and the documentation site renders
``latex("aligned")`` with MathJax, so both forms are checked for every name in ``derivations()``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import sympy

from virtmodel.symbolic import derivations, derive
from virtmodel.symbolic.derivation import latex

ENVIRONMENTS = ("align*", "aligned")
TEXT_COMMANDS = ("\\intertext", "\\text")


def _closing_brace(tex: str, opening: int) -> int:
    """Index of the brace that closes the (unescaped) brace at ``opening``."""
    depth = 0
    position = opening
    while position < len(tex):
        ch = tex[position]
        if ch == "\\":
            position += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    raise AssertionError(f"unbalanced braces after position {opening}: {tex[opening:opening + 80]!r}")


def _text_groups(tex: str) -> tuple[list[tuple[str, str]], str]:
    """The contents of every \\text{...} / \\intertext{...}, and the math that is left."""
    groups = []
    math = []
    position = 0
    pattern = re.compile(r"\\(intertext|text)\{")
    while (match := pattern.search(tex, position)) is not None:
        close = _closing_brace(tex, match.end() - 1)
        math.append(tex[position : match.start()])
        groups.append((match.group(1), tex[match.end() : close]))
        position = close + 1
    math.append(tex[position:])
    return groups, " ".join(math)


def structural_problems(tex: str, environment: str) -> list[str]:
    """What makes ``tex`` invalid LaTeX or invalid MathJax: an empty list when it is well formed.

    - braces balance (escaped ``\\{``/``\\}`` aside) and every ``\\begin`` has its ``\\end``;
    - inside ``\\intertext{}`` (text mode) no unescaped ``_ ^ & % # ~ < > |`` outside ``$...$``;
    - inside ``\\text{}`` (the ``aligned`` form, which MathJax shows literally) no backslash and
      none of ``_ ^ & % # $ ~ { } < > |``;
    - in the math, every brace group holds as many closing brackets ``] )`` as opening ones
      ``[ (``: sympy's printer, splitting the name ``E[S_i^2]`` at ``^``, wrote ``E[S^{2]}_{i}``.
    """
    problems = []
    depth = 0
    stripped = re.sub(r"\\[{}]", "", tex)
    for ch in stripped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            problems.append("a closing brace without an opening one")
            break
    if depth > 0:
        problems.append(f"{depth} unclosed brace(s)")
    if problems:
        return problems
    begins = re.findall(r"\\begin\{([^}]*)\}", tex)
    ends = re.findall(r"\\end\{([^}]*)\}", tex)
    if sorted(begins) != sorted(ends):
        problems.append(f"\\begin {begins} and \\end {ends} do not match")
    groups, math = _text_groups(tex)
    for command, content in groups:
        if command == "intertext":
            text = re.sub(r"\$[^$]*\$", "", re.sub(r"\\[_&%#${}]", "", content))
            bad = set(text) & set("_^&%#$~<>|")
        else:
            bad = set(content) & set("\\_^&%#$~{}<>|")
        if bad:
            problems.append(f"raw {''.join(sorted(bad))!r} inside \\{command}{{{content[:100]}}}")
    math = math.replace("\\{", "").replace("\\}", "")
    for opening in (m.start() for m in re.finditer(r"(?<!\\)\{", math)):
        close = _closing_brace(math, opening)
        inner = math[opening + 1 : close]
        # count only this group's own level: drop nested groups
        while (nested := re.search(r"\{[^{}]*\}", inner)) is not None:
            inner = inner[: nested.start()] + inner[nested.end() :]
        inner = inner.replace("\\left.", "").replace("\\right.", "")
        if inner.count("[") + inner.count("(") != inner.count("]") + inner.count(")"):
            problems.append(f"unbalanced brackets in the group {{{math[opening + 1 : close][:80]}}}")
    return problems


@pytest.fixture(scope="module")
def rendered():
    return {(name, env): derive(name).latex(env) for name in derivations() for env in ENVIRONMENTS}


def test_structural_check_finds_the_faults_it_is_for():
    # the two faults issue 14 names, and a brace left open
    assert structural_problems(r"\begin{aligned} & \text{the L_q customers} \\ W &= 1 \end{aligned}", "aligned")
    assert structural_problems(r"\begin{align*} V &= \frac{E[S^{2]}_{i}}{2} \end{align*}", "align*")
    assert structural_problems(r"\begin{align*} \intertext{a} V &= \frac{1{2} \end{align*}", "align*")
    assert structural_problems(r"\begin{align*} \intertext{x -> 0} V &= 1 \end{align*}", "align*")
    assert not structural_problems(r"\begin{align*} \intertext{L\_q, x $\to$ 0} V &= \left[0, 1\right) \end{align*}",
                                   "align*")


def test_text_is_escaped_for_latex_and_mathjax():
    d = derive("mg1.mean_wait")
    aligned = d.latex("aligned")
    assert r"\text{Mean-value argument (PASTA): an arrival waits for the L} \_ \text{q customers" in aligned
    assert r"waits for the L\_q customers" in d.latex()
    srpt = derive("srpt.response_given_size")
    assert r"Check x } \to \text{ 0" in srpt.latex("aligned") and r"Check x $\to$ 0" in srpt.latex()


def test_expectation_symbols_print_as_expectations():
    # sympy alone prints E[S^{2]}_{i}
    assert latex(sympy.Symbol("E[S_i^2]")) == r"\mathbb{E}[S^{2}_{i}]"
    assert latex(sympy.Symbol("f_1(1,2)")) == "f_{1}(1,2)"
    assert r"\mathbb{E}[S^{2}_{i}]" in derive("priority.preemptive_response").latex()
    assert "^{2]}" not in derive("priority.preemptive_response").latex("aligned")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_derivation_latex_is_well_formed(rendered, environment):
    names = derivations()
    assert len(names) >= 60  # every area's derivations are registered (65 at the time of writing)
    faults = {}
    for name in names:
        tex = rendered[name, environment]
        assert tex.startswith(f"\\begin{{{environment}}}") and tex.rstrip().endswith(f"\\end{{{environment}}}")
        problems = structural_problems(tex, environment)
        if problems:
            faults[name] = problems
    assert not faults, faults


def _document(rendered) -> str:
    body = []
    for name in derivations():
        body.append(r"\section*{" + name.replace("_", r"\_") + "}")
        body.append(rendered[name, "align*"])
        body.append(r"\[" + rendered[name, "aligned"] + r"\]")
    return "\n".join(
        [r"\documentclass{article}", r"\usepackage{amsmath,amssymb}", r"\begin{document}", *body, r"\end{document}"]
    )


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex not installed (Debian: apt-get install texlive-latex-base texlive-latex-recommended); "
    "the structural test above still runs",
)
def test_every_derivation_compiles_with_pdflatex(rendered, tmp_path):
    (tmp_path / "derivations.tex").write_text(_document(rendered), encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "derivations.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    log = (tmp_path / "derivations.log").read_text(encoding="utf-8", errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert run.returncode == 0 and not errors, "\n".join(errors) + "\n" + run.stdout[-3000:]
    assert (tmp_path / "derivations.pdf").stat().st_size > 0
    assert "Missing character" not in log  # a glyph the font lacks is silently dropped

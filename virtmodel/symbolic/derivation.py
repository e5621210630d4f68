"""The :class:`Derivation` result object and the registry behind :func:`derive`.

A derivation is built by a zero-argument *builder* function registered with
the :func:`derivation` decorator.  The builder does the algebra with sympy,
records each step as a :class:`Step`, and returns a :class:`Derivation` whose
``result`` is the final closed form.  :func:`derive` builds a derivation once
and caches it; :func:`derivations` lists what is registered.

The module also defines three special functions that sympy lacks as named
functions but scipy evaluates stably: :class:`gammaincc` (the regularised
upper incomplete gamma function, written :math:`Q(s, x)`), :class:`gammaln`
(:math:`\\ln\\Gamma(x)` without overflow) and :class:`exprel`
(:math:`(e^x - 1)/x`, equal to 1 at 0).  Derivations use them in their
``numeric`` form, the expression that :meth:`Derivation.lambdify` evaluates.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
from collections.abc import Callable

import numpy as np
import scipy.special
import sympy

from ..errors import InvalidParameter

__all__ = [
    "Step",
    "Derivation",
    "derivation",
    "derive",
    "derivations",
    "gammaincc",
    "gammaln",
    "exprel",
    "symbol",
    "latex",
]

# LaTeX names of symbols whose plain name reads badly in LaTeX (e.g. "E[S^2]").
_LATEX_NAMES: dict[sympy.Symbol, str] = {}


def symbol(name: str, latex_name: str | None = None, **assumptions) -> sympy.Symbol:
    """A sympy Symbol, optionally with the LaTeX spelling that :func:`latex` uses for it."""
    sym = sympy.Symbol(name, **assumptions)
    if latex_name is not None:
        _LATEX_NAMES[sym] = latex_name
    return sym


def latex(expr) -> str:
    """``sympy.latex`` with the LaTeX names registered by :func:`symbol`.

    A symbol made with a plain ``sympy.Symbol`` whose name is an expectation
    (``"E[S_i^2]"``) or a subscripted function value (``"f_1(1,2)"``) is
    spelled :math:`\\mathbb{E}[S_{i}^{2}]`, :math:`f_{1}(1,2)`; sympy's own
    printer would split such a name at ``_`` and ``^`` and print
    ``E[S^{2]}_{i}``.
    """
    names = dict(_LATEX_NAMES)
    for sym in sympy.sympify(expr).atoms(sympy.Symbol):
        if sym not in names:
            spelled = _symbol_name_latex(sym.name)
            if spelled is not None:
                names[sym] = spelled
    return sympy.latex(expr, symbol_names=names)


def _symbol_name_latex(name: str) -> str | None:
    """LaTeX for a symbol name that sympy's printer would garble, else None (sympy's spelling is fine)."""
    expectation = re.fullmatch(r"E\[(.+)\]", name)
    if expectation:
        inner = expectation.group(1)
        return r"\mathbb{E}[" + (_symbol_name_latex(inner) or sympy.latex(sympy.Symbol(inner))) + "]"
    applied = re.fullmatch(r"([A-Za-z]+_[A-Za-z0-9]+)\(([^()]*)\)", name)
    if applied:
        return sympy.latex(sympy.Symbol(applied.group(1))) + "(" + applied.group(2) + ")"
    return None


# ---------------------------------------------------------------------------
# Special functions with a scipy counterpart
# ---------------------------------------------------------------------------


class gammaincc(sympy.Function):  # noqa: N801 (named after scipy.special.gammaincc)
    r"""Regularised upper incomplete gamma function :math:`Q(s, x) = \Gamma(s, x) / \Gamma(s)`.

    For integer :math:`s \ge 1`, :math:`Q(s, x) = e^{-x} \sum_{k=0}^{s-1} x^k / k!`
    (the Poisson distribution function), which is why Erlang's formulas use it.
    Lambdified to :func:`scipy.special.gammaincc`.
    """

    nargs = 2

    def _eval_rewrite_as_uppergamma(self, s, x, **kwargs):
        return sympy.uppergamma(s, x) / sympy.gamma(s)

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.uppergamma)._eval_evalf(prec)

    def _latex(self, printer):
        s, x = (printer._print(arg) for arg in self.args)
        return rf"Q\left({s}, {x}\right)"


class gammaln(sympy.Function):  # noqa: N801 (named after scipy.special.gammaln)
    r""":math:`\ln \Gamma(x)` for :math:`x > 0`, lambdified to :func:`scipy.special.gammaln`."""

    nargs = 1

    def _eval_rewrite_as_gamma(self, x, **kwargs):
        return sympy.log(sympy.gamma(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.gamma)._eval_evalf(prec)

    def _latex(self, printer):
        return rf"\ln\Gamma\left({printer._print(self.args[0])}\right)"


class exprel(sympy.Function):  # noqa: N801 (named after scipy.special.exprel)
    r"""Relative exponential :math:`(e^x - 1)/x`, equal to 1 at :math:`x = 0`.

    Lambdified to :func:`scipy.special.exprel`, which is accurate near 0.
    """

    nargs = 1

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sympy.Piecewise((sympy.Integer(1), sympy.Eq(x, 0)), ((sympy.exp(x) - 1) / x, True))

    def _eval_evalf(self, prec):
        x = self.args[0]
        if x.is_zero:
            return sympy.Float(1, prec)
        return ((sympy.exp(x) - 1) / x)._eval_evalf(prec)

    def _latex(self, printer):
        return rf"\operatorname{{exprel}}\left({printer._print(self.args[0])}\right)"


_SPECIAL_MODULE = {
    "gammaincc": scipy.special.gammaincc,
    "gammaln": scipy.special.gammaln,
    "exprel": scipy.special.exprel,
}
_LAMBDIFY_MODULES = [_SPECIAL_MODULE, "scipy", "numpy"]


def rewrite_special(expr):
    """Rewrite this module's special functions in terms of sympy's own (for checks)."""
    return (
        sympy.sympify(expr)
        .rewrite(sympy.uppergamma)
        .replace(gammaln, lambda x: sympy.log(sympy.gamma(x)))
        .replace(exprel, lambda x: (sympy.exp(x) - 1) / x)
    )


# ---------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    """One line of a derivation: what was done, and the expression or equation it gave.

    Attributes
    ----------
    description : str
        Plain text, e.g. ``"Normalise: the probabilities sum to one"``.
    expression : sympy.Expr or sympy.Eq
        The expression or equation obtained at this step.
    """

    description: str
    expression: sympy.Basic

    def latex(self) -> str:
        """The expression alone in LaTeX (an ``Eq`` becomes ``lhs = rhs``)."""
        return latex(self.expression)


@dataclasses.dataclass(frozen=True)
class Derivation:
    """A closed-form result together with the steps that lead to it.

    Build one with :func:`derive`; do not construct it by hand except in a
    builder function.

    Attributes
    ----------
    name : str
        Registry name, ``"<model>.<metric>"`` (e.g. ``"mg1.mean_wait"``).
    title : str
        One-line human title.
    steps : tuple of Step
        The derivation, in order.
    result : sympy.Expr
        The final closed form, in the textbook symbols.
    parameters : tuple of (str, sympy.Symbol)
        Public parameter name (as in the numeric API, e.g. ``"arrival_rate"``)
        and the symbol that stands for it in ``result``.
    assumptions : tuple of str
        The assumptions under which ``result`` holds.
    source : str
        Book or paper, edition and equation number.
    exact : bool
        False where ``result`` is an approximation (e.g. Kingman's formula).
    numeric : sympy.Expr or None
        An expression mathematically equal to ``result`` but written for
        floating point (log-space, ``gammaincc`` ...), which :meth:`lambdify`
        evaluates.  ``None`` means ``result`` itself.

    Examples
    --------
    >>> from virtmodel.symbolic import derive
    >>> d = derive("mm1.mean_number")
    >>> d(arrival_rate=0.5, service_rate=1.0)
    1.0
    """

    name: str
    title: str
    steps: tuple[Step, ...]
    result: sympy.Expr
    parameters: tuple[tuple[str, sympy.Symbol], ...]
    assumptions: tuple[str, ...] = ()
    source: str = ""
    exact: bool = True
    numeric: sympy.Expr | None = None

    def __post_init__(self):
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "parameters", tuple((str(k), s) for k, s in self.parameters))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        free = (self.numeric if self.numeric is not None else self.result).free_symbols
        missing = free - {s for _, s in self.parameters}
        if missing:
            raise InvalidParameter(
                f"parameters of derivation {self.name!r} must cover every free symbol of the result, "
                f"missing {sorted(map(str, missing))}"
            )

    # -- presentation -----------------------------------------------------

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The public parameter names, in order."""
        return tuple(name for name, _ in self.parameters)

    def latex(self, environment: str = "align*") -> str:
        r"""The derivation in LaTeX, one line per step, ending in the result.

        Parameters
        ----------
        environment : {"align*", "aligned"}
            ``"align*"`` (for a paper; needs ``amsmath``) sets each step's
            description with ``\intertext`` above its expression.
            ``"aligned"`` (for MathJax inside ``$$ ... $$``) sets it as
            ``\text{...}`` on a line of its own.
        """
        if environment not in ("align*", "aligned"):
            raise InvalidParameter(f"environment must be 'align*' or 'aligned', got {environment!r}")
        if environment == "align*":

            def text(t):
                return rf"\intertext{{{_escape(t)}}}"
        else:

            def text(t):
                return "& " + _escape(t, "aligned") + r" \\"

        lines = []
        for step in self.steps:
            lines.append(text(step.description))
            lines.append(_align_line(step.expression) + r" \\")
        lines.append(text(f"Result ({self.source or self.name}):"))
        lines.append(_result_symbol(self.name) + " &= " + latex(self.result))
        body = "\n".join("  " + line for line in lines)
        return f"\\begin{{{environment}}}\n{body}\n\\end{{{environment}}}"

    def __str__(self) -> str:
        return "$$" + self.latex("aligned") + "$$"

    def _repr_latex_(self) -> str:
        return str(self)

    # -- evaluation -------------------------------------------------------

    @functools.cached_property
    def _compiled(self) -> Callable:
        expr = self.numeric if self.numeric is not None else self.result
        symbols = [s for _, s in self.parameters]
        return sympy.lambdify(symbols, expr, modules=_LAMBDIFY_MODULES)

    def lambdify(self) -> Callable:
        """A numpy-vectorised function of the public parameters, given as keywords.

        Returns
        -------
        callable
            ``f(**params)`` that broadcasts numpy arrays and returns a float
            for scalar input.  A missing or unknown keyword raises
            :class:`~virtmodel.errors.InvalidParameter`.  No domain checks
            are made: outside the assumptions the value is meaningless
            (possibly ``nan`` or ``inf``).
        """
        compiled = self._compiled
        names = self.parameter_names
        name = self.name
        piecewise = (self.numeric if self.numeric is not None else self.result).has(sympy.Piecewise)

        def evaluate(**params):
            unknown = set(params) - set(names)
            missing = [p for p in names if p not in params]
            if unknown or missing:
                raise InvalidParameter(
                    f"derivation {name!r} takes parameters {list(names)}, "
                    f"got unknown {sorted(unknown)} and missing {missing}"
                )
            args = [np.asarray(params[p], dtype=float) for p in names]
            if piecewise:
                # numpy.select evaluates every branch; the unselected ones may divide by zero.
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    out = np.asarray(compiled(*args), dtype=float)
            else:
                out = np.asarray(compiled(*args), dtype=float)
            if out.shape != np.broadcast_shapes(*(a.shape for a in args)):
                out = np.broadcast_to(out, np.broadcast_shapes(out.shape, *(a.shape for a in args))).copy()
            return float(out) if out.ndim == 0 else out

        evaluate.__name__ = name.replace(".", "_")
        evaluate.__doc__ = f"{self.title} (from derive({name!r})), parameters {list(names)}."
        evaluate.__signature__ = inspect.Signature(
            [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY) for p in names]
        )
        return evaluate

    def __call__(self, **params):
        return self.lambdify()(**params)


# Escapes that mean the character itself in LaTeX text mode and in math mode alike.
_ESCAPED = {"{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_"}
# Plain text in LaTeX text mode (\intertext): the other characters with a meaning there, and the
# ASCII spellings of arrows and inequalities.
_TEXT_MODE = {
    **_ESCAPED,
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "->": r"$\to$",
    "<=": r"$\le$",
    ">=": r"$\ge$",
}
# The same characters in math mode.  MathJax shows the inside of \text{...} literally (no
# macros), so the "aligned" form leaves them out of \text{} and sets them in math mode
# between \text{} runs, which LaTeX and MathJax read the same way.
_MATH_MODE = {
    **_ESCAPED,
    "\\": r"\backslash",
    "^": r"\hat{}",
    "~": r"\sim",
    "<": "<",
    ">": ">",
    "|": r"\vert",
    "->": r"\to",
    "<=": r"\le",
    ">=": r"\ge",
}
_SPECIAL_TEXT = re.compile(r"->|<=|>=|[\\{}&%$#_^~<>|]")


def _escape(text: str, environment: str = "align*") -> str:
    """Plain text as LaTeX: for ``\\intertext`` (text mode) or, for ``"aligned"``, as ``\\text{}`` runs.

    The ``"aligned"`` form is valid LaTeX and renders the same under MathJax:
    ``"the L_q customers"`` becomes ``\\text{the L} \\_ \\text{q customers}``.
    """
    if environment == "align*":
        return _SPECIAL_TEXT.sub(lambda m: _TEXT_MODE[m.group()], text)
    parts = []
    position = 0
    for match in _SPECIAL_TEXT.finditer(text):
        if match.start() > position:
            parts.append(r"\text{" + text[position : match.start()] + "}")
        parts.append(_MATH_MODE[match.group()])
        position = match.end()
    if position < len(text) or not parts:
        parts.append(r"\text{" + text[position:] + "}")
    return " ".join(parts)


def _align_line(expr) -> str:
    if isinstance(expr, sympy.Equality):
        return latex(expr.lhs) + " &= " + latex(expr.rhs)
    return "& " + latex(expr)


def _result_symbol(name: str) -> str:
    model, _, metric = name.partition(".")
    return r"\mathrm{" + (metric or model).replace("_", r"\_") + "}"


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

_BUILDERS: dict[str, Callable[[], Derivation]] = {}


def derivation(name: str):
    """Register a zero-argument builder function under ``name``.

    The builder returns a :class:`Derivation` whose ``name`` equals ``name``;
    it runs once, on the first :func:`derive` of that name.  Usage::

        @derivation("mm1.mean_number")
        def _mm1_mean_number():
            ...
            return Derivation(name="mm1.mean_number", ...)
    """
    if not isinstance(name, str) or not name:
        raise InvalidParameter(f"derivation name must be a non-empty string, got {name!r}")

    def register(builder: Callable[[], Derivation]) -> Callable[[], Derivation]:
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise InvalidParameter(f"derivation name must be unique, got {name!r} twice")
        _BUILDERS[name] = builder
        return builder

    return register


@functools.cache
def _build(name: str) -> Derivation:
    result = _BUILDERS[name]()
    if not isinstance(result, Derivation) or result.name != name:
        raise TypeError(f"builder for {name!r} must return a Derivation named {name!r}")
    return result


def derive(name: str) -> Derivation:
    """Build (once, then cached) and return the derivation registered as ``name``.

    Parameters
    ----------
    name : str
        One of :func:`derivations`, e.g. ``"mg1.mean_wait"``.

    Raises
    ------
    InvalidParameter
        If no derivation has that name; the message lists the known names.

    Examples
    --------
    >>> from virtmodel.symbolic import derive
    >>> derive("mm1.mean_number").result
    lambda/(-lambda + mu)
    """
    if name not in _BUILDERS:
        raise InvalidParameter(f"name must be one of {derivations()}, got {name!r}")
    return _build(name)


def derivations() -> list[str]:
    """The registered derivation names, sorted."""
    return sorted(_BUILDERS)


def eq(lhs, rhs):
    """An unevaluated ``sympy.Eq``, for a derivation step that states an equality."""
    return sympy.Eq(lhs, rhs, evaluate=False)


def is_zero(expr) -> bool:
    """Whether ``expr`` is identically 0: a cheap rational cancellation first, then ``sympy.simplify``."""
    expr = sympy.sympify(expr)
    if sympy.cancel(sympy.together(sympy.expand(expr))) == 0:
        return True
    return sympy.simplify(expr) == 0

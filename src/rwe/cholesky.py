"""The pivot-dropping Cholesky decomposition of R's ``survival`` package, in a fixed order.

R's ``coxph`` solves its Newton steps and inverts its information matrix with three routines
of its own (``cholesky2``, ``chsolve2``, ``chinv2`` in the package's C code), not with LAPACK:
a symmetric decomposition ``A = L D L'`` (L unit lower triangular, D diagonal) that skips, rather
than stops at, a pivot below ``toler`` times the largest diagonal element. A skipped column is
"deemed singular": its coefficient gets no step (R: ``NA``), and its row and column of the
inverse are 0. This module computes the same decomposition, solve and inverse with the same
arithmetic in the same order, element by element in Python (the matrices are p by p for p
covariates), so that a fit does not depend on the BLAS or the CPU that runs it: the decision
"singular or not", a step and so the whole Newton path are the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: R ``coxph.control(toler.chol = .Machine$double.eps^0.75)``.
TOLER_CHOL = float(np.finfo(float).eps ** 0.75)


@dataclass(frozen=True)
class Decomposition:
    """``L D L'`` of a symmetric matrix, as R's ``cholesky2`` leaves it.

    ``factor`` holds D on the diagonal and L below it; a column deemed singular has 0 on the
    diagonal and its entries below the diagonal left as they were (R leaves them too, and its
    solve reads them). ``rank`` is R's return value: the number of kept columns, negative when
    a dropped pivot was clearly negative (the matrix is not non-negative definite).
    """

    factor: np.ndarray
    rank: int

    @property
    def kept(self) -> np.ndarray:
        """True for the columns not deemed singular."""
        return np.diag(self.factor) != 0


def decompose(matrix: np.ndarray, toler: float = TOLER_CHOL) -> Decomposition:
    """The decomposition of R ``cholesky2(matrix, n, toler)``.

    Only the upper triangle of ``matrix`` is read (R copies it to the lower one). A pivot that
    is not finite or is below ``toler`` times the largest positive diagonal element (``toler``
    itself when no diagonal element is positive) marks its column singular.

    Parameters
    ----------
    matrix : numpy.ndarray
        Symmetric p by p matrix (the information matrix of a Cox model).
    toler : float
        R ``toler.chol``.

    Returns
    -------
    Decomposition
    """
    a = np.array(matrix, dtype=float, copy=True).reshape(len(matrix), len(matrix))
    n = a.shape[0]
    eps = 0.0
    for i in range(n):
        if a[i, i] > eps:
            eps = float(a[i, i])
        for j in range(i + 1, n):
            a[j, i] = a[i, j]
    eps = toler if eps == 0 else eps * toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            a[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = a[j, i] / pivot
            a[j, i] = temp
            a[j, j] -= temp * temp * pivot
            for k in range(j + 1, n):
                a[k, j] -= temp * a[k, i]
    return Decomposition(a, rank * nonneg)


def solve(dec: Decomposition, y: np.ndarray) -> np.ndarray:
    """``A⁻¹ y`` from the decomposition, 0 for singular columns (R ``chsolve2``)."""
    a = dec.factor
    n = a.shape[0]
    y = np.array(y, dtype=float, copy=True).reshape(n)
    for i in range(n):
        temp = y[i]
        for j in range(i):
            temp -= y[j] * a[i, j]
        y[i] = temp
    for i in range(n - 1, -1, -1):
        if a[i, i] == 0:
            y[i] = 0.0
            continue
        temp = y[i] / a[i, i]
        for j in range(i + 1, n):
            temp -= y[j] * a[j, i]
        y[i] = temp
    return y


def inverse(dec: Decomposition) -> np.ndarray:
    """The inverse from the decomposition, 0 in singular rows and columns (R ``chinv2``).

    Returns the full symmetric matrix (R fills its upper triangle, ``coxph`` copies it down).
    """
    a = dec.factor.copy()
    n = a.shape[0]
    for i in range(n):  # L⁻¹ below the diagonal, D⁻¹ on it
        if a[i, i] > 0:
            a[i, i] = 1 / a[i, i]
            for j in range(i + 1, n):
                a[j, i] = -a[j, i]
                for k in range(i):
                    a[j, k] += a[j, i] * a[i, k]
    for i in range(n):  # (L⁻¹)' D⁻¹ L⁻¹ into the upper triangle
        if a[i, i] == 0:
            a[:i, i] = 0.0
            a[i, i:] = 0.0
            continue
        for j in range(i + 1, n):
            temp = a[j, i] * a[j, j]
            a[i, j] = temp
            for k in range(i, j):
                a[i, k] += temp * a[j, k]
    upper = np.triu(a)
    return upper + np.triu(a, 1).T

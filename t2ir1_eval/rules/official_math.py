"""The official evaluators' float operations, in their order, independent of today's numpy/Python.

Means that look alike round differently in the last bit: ``math.fsum`` is exact, Python's
``sum()`` adds left to right (and from Python 3.12 on is compensated, so it is not used here),
and ``np.mean`` of a float64 array adds pairwise in blocks of 8 and 128. Each official script
uses one of these; our rules call the matching function so "same raw outputs, same score" holds
to the last bit, printed text included:

* :func:`left_sum` / :func:`left_mean` -- ``total = 0; total += x`` or ``sum(x) / len(x)`` on
  Python 3.8/3.9 (T2I-CompBench BLIP-VQA, 2D, numeracy, 3-in-1; WISE categories; DPG tiles and
  images).
* :func:`np_mean` -- ``np.mean(list_of_floats)`` (T2I-CompBench 3D, DPG-Bench overall and
  categories, GenEval's mean over tasks): numpy's float64 pairwise summation then ``/ n``.
* :func:`argsort_numpy123` -- ``np.argsort(float32_scores)`` with numpy 1.23 (GenEval's
  per-class order): introsort, whose order on tied scores is not a stable sort. numpy >= 1.25
  dispatches to SIMD sorts on AVX-512 machines, so even the same call differs today.

Checked against tables generated with numpy 1.23.5 (tests/data/numpy123/).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

#: numpy's pairwise-summation block (PW_BLOCKSIZE in loops_utils.h)
PW_BLOCKSIZE = 128
#: numpy's npysort SMALL_QUICKSORT: partitions with pr - pl <= 15 (at most 16 rows) are insertion-sorted
SMALL_QUICKSORT = 15


def left_sum(values: Sequence[float]) -> float:
    """``s = 0; for v in values: s += v`` -- Python < 3.12 ``sum()`` on floats, one rounding per step."""
    total: float = 0
    for v in values:
        total += v
    return float(total)


def left_mean(values: Sequence[float]) -> float:
    """``sum(values) / len(values)`` as the official scripts ran it (Python 3.8/3.9)."""
    return left_sum(values) / len(values)


def _pairwise(a: Sequence[float], lo: int, n: int) -> float:
    # DOUBLE_pairwise_sum from numpy/core/src/umath/loops_utils.h.src (unchanged from 1.9 to 2.x)
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= PW_BLOCKSIZE:
        r = [float(a[lo + j]) for j in range(8)]
        i = 8
        stop = n - (n % 8)
        while i < stop:
            for j in range(8):
                r[j] += a[lo + i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


def np_sum(values: Sequence[float]) -> float:
    """``np.sum`` of a list of Python floats/ints (a contiguous float64 array): the add reduction
    starts from the identity 0.0 and adds the pairwise sum of all elements."""
    a = [float(v) for v in values]
    return 0.0 + _pairwise(a, 0, len(a))


def np_mean(values: Sequence[float]) -> float:
    """``np.mean(values)`` for a list of Python floats/ints: float64 pairwise sum, then ``/ n``."""
    if not values:
        return math.nan  # numpy warns and returns nan
    return np_sum(values) / len(values)


def _less(a: float, b: float) -> bool:
    # npysort's FLOAT_LT: NaN sorts after every number
    return a < b or (b != b and a == a)


def _aheapsort(v: Sequence[float], tosort: list[int], lo: int, n: int) -> None:
    # aheapsort_ on tosort[lo:lo+n]; ``a`` is 1-based as in the C code
    def get(k: int) -> int:
        return tosort[lo + k - 1]

    def put(k: int, value: int) -> None:
        tosort[lo + k - 1] = value

    def sift_down(i: int, n: int) -> None:
        # the sift loop the C code writes out twice (heap building, then extraction)
        tmp = get(i)
        j = i << 1
        while j <= n:
            if j < n and _less(v[get(j)], v[get(j + 1)]):
                j += 1
            if _less(v[tmp], v[get(j)]):
                put(i, get(j))
                i = j
                j += j
            else:
                break
        put(i, tmp)

    for l in range(n >> 1, 0, -1):
        sift_down(l, n)
    while n > 1:
        tmp = get(n)
        put(n, get(1))
        put(1, tmp)
        n -= 1
        sift_down(1, n)


def argsort_numpy123(values: Sequence[Any]) -> list[int]:
    """``np.argsort(values)`` (kind "quicksort") as numpy 1.23 computes it: aquicksort_ from
    npysort/quicksort.cpp -- median-of-3 quicksort, insertion sort on partitions of at most 16
    rows, heapsort past a depth of 2*floor(log2 n). ``values`` must already hold the compared
    numbers (e.g. float32 scores widened to float: widening keeps every comparison)."""
    v = [float(x) for x in values]
    num = len(v)
    tosort = list(range(num))
    if num < 2:
        return tosort
    pl, pr = 0, num - 1
    stack: list[int] = []
    depth: list[int] = []
    cdepth = (num.bit_length() - 1) * 2  # npy_get_msb(num) * 2
    while True:
        if cdepth < 0:  # checked only here, as in C: a partition popped past the depth limit
            _aheapsort(v, tosort, pl, pr - pl + 1)
        else:
            while pr - pl > SMALL_QUICKSORT:
                pm = pl + ((pr - pl) >> 1)
                if _less(v[tosort[pm]], v[tosort[pl]]):
                    tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
                if _less(v[tosort[pr]], v[tosort[pm]]):
                    tosort[pr], tosort[pm] = tosort[pm], tosort[pr]
                if _less(v[tosort[pm]], v[tosort[pl]]):
                    tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
                vp = v[tosort[pm]]
                pi, pj = pl, pr - 1
                tosort[pm], tosort[pj] = tosort[pj], tosort[pm]
                while True:
                    pi += 1
                    while _less(v[tosort[pi]], vp):
                        pi += 1
                    pj -= 1
                    while _less(vp, v[tosort[pj]]):
                        pj -= 1
                    if pi >= pj:
                        break
                    tosort[pi], tosort[pj] = tosort[pj], tosort[pi]
                pk = pr - 1
                tosort[pi], tosort[pk] = tosort[pk], tosort[pi]
                # push the larger partition, keep partitioning the smaller one
                if pi - pl < pr - pi:
                    stack += [pi + 1, pr]
                    pr = pi - 1
                else:
                    stack += [pl, pi - 1]
                    pl = pi + 1
                cdepth -= 1
                depth.append(cdepth)
            for pi in range(pl + 1, pr + 1):  # insertion sort
                vi = tosort[pi]
                vp = v[vi]
                pj = pi
                while pj > pl and _less(vp, v[tosort[pj - 1]]):
                    tosort[pj] = tosort[pj - 1]
                    pj -= 1
                tosort[pj] = vi
        if not stack:
            break
        pr = stack.pop()
        pl = stack.pop()
        cdepth = depth.pop()
    return tosort

#!/usr/bin/env python3
"""Attributes a `perf script` profile of xtape-bench to xtape ops and leaf symbols.

Only samples inside the timed step count (default: xtape's run closure), so the
input drawing, the untimed preparation and the probes are left out. Usage:

  perf record -e cpu-clock -F 1000 --call-graph dwarf,32768 -o case.data -- \\
      xtape-bench --no-torch --clock cpu --reps 4 --filter SoftmaxCrossEntropyLoss/large
  perf script -i case.data | tools/bench/attribute_profile.py
  # the tape overhead probe instead:  ... --filter NONE | attribute_profile.py 'tape_overhead_ns.*lambda'

Prints the share of samples by xtape op (forward, or its backward closure), by
leaf symbol, by both, and the share with some functions anywhere on the stack.
The warm-up run is the same closure: its first touches of new memory
(exc_page_fault, clear_page_erms) count too, a share that more --reps dilute.
"""
import collections
import re
import sys

STEP = sys.argv[1] if len(sys.argv) > 1 else r'xtape_step\(.*\{lambda\(\)#1\}'
INCLUSIVE = ['malloc', 'free', 'posix_memalign', 'operator new', 'broadcast_shapes', 'Tape<float>::record',
             'Tape<float>::push', 'Tape<float>::check', 'Tape<float>::sweep', 'Tape<float>::clear',
             'GradContext<float>::accumulate', 'accumulate_reduced', 'sum_to', 'stepper_assigner',
             'strided_loop_assigner', 'xreducer', 'exc_page_fault', 'memcpy', 'memmove', 'memset']


def read_stacks(lines):
    """Each sample's frames, innermost first, without offsets and library names."""
    stacks, frames = [], None
    for line in lines:
        if not line.strip():
            if frames:
                stacks.append(frames)
            frames = None
        elif not line[0].isspace():
            frames = []
        elif frames is not None:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                # "symbol+0x1c (/lib/path)" or "symbol (inlined)" -> "symbol"
                frames.append(re.sub(r'(\+0x[0-9a-f]+)? \([^()]*\)$', '', parts[1]).strip())
    if frames:
        stacks.append(frames)
    return stacks


def short(symbol, width=110):
    xarray = ('xt::xarray_container<xt::uvector<float, xsimd::aligned_allocator<float, 16ul> >, (xt::layout_type)1, '
              'xt::svector<unsigned long, 4ul, std::allocator<unsigned long>, true>, xt::xtensor_expression_tag>')
    return symbol.replace(xarray, 'XA')[:width]


def op_of(frames):
    """The innermost xtape op: a backward closure, a forward op, or the tape itself."""
    for f in frames:
        m = re.match(r'std::_Function_handler<void \(xtape::GradContext<float>&\), (xtape::\w+<float>)', f)
        if m:
            return m.group(1) + ' [backward]'
        m = re.match(r'(xtape::(?!bench|detail|Tape|GradContext|Var)[A-Za-z_:]+<float>)(\(|$)', f)
        if m:
            return m.group(1) + (' [backward]' if 'GradContext' in f else ' [forward]')
        m = re.match(r'(xtape::Tape<float>::\w+)', f)
        if m and 'sweep' not in f:
            return m.group(1)
    return '(other)'


def main():
    step = re.compile(STEP)
    stacks = read_stacks(sys.stdin)
    inside = [s for s in stacks if any(step.search(f) for f in s)]
    print(f'{len(inside)} of {len(stacks)} samples inside the timed step')
    if not inside:
        return
    for title, key in [('by xtape op', op_of), ('by leaf symbol', lambda s: short(s[0])),
                       ('by op / leaf', lambda s: op_of(s) + ' :: ' + short(s[0], 90))]:
        print('==', title)
        for name, count in collections.Counter(key(s) for s in inside).most_common(18):
            print(f'{100.0 * count / len(inside):5.1f}%  {name}')
    print('== anywhere on the stack')
    for name in INCLUSIVE:
        count = sum(1 for s in inside if any(name in f for f in s))
        if count:
            print(f'{100.0 * count / len(inside):5.1f}%  {name}')


if __name__ == '__main__':
    main()

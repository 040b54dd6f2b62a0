"""The Value engine: every op's value and gradient against finite differences, a node used twice,
and micrograd's two sanity tests against PyTorch in float64 (backward's lines and depth:
test_settings_and_data.py and test_training.py)."""
import math, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

Value = harness.load('Autograd')['Value']
# (expression, its inputs, its value): every op, with plain numbers on either side
OPS = [(lambda a, b: a + b, [1.5, -2.25], -0.75), (lambda a, b: a * b, [1.5, -2.25], -3.375),
       (lambda a: a.log(), [2.5], math.log(2.5)), (lambda a: a.exp(), [-0.3], math.exp(-0.3)),
       (lambda a: a.relu(), [0.8], 0.8), (lambda a: a.relu(), [-0.8], 0.0),
       (lambda a: -a, [0.7], -0.7),
       (lambda a, b: a - b, [0.7, 2.0], -1.3), (lambda a, b: a / b, [0.7, -2.0], -0.35),
       (lambda a: a + 3, [0.5], 3.5), (lambda a: 3 + a, [0.5], 3.5), (lambda a: a * 3, [0.5], 1.5),
       (lambda a: 3 * a, [0.5], 1.5), (lambda a: a - 3, [0.5], -2.5), (lambda a: 3 - a, [0.5], 2.5),
       (lambda a: a / 4, [0.5], 0.125), (lambda a: 4 / a, [0.5], 8.0)] + \
      [(lambda a, k=k: a ** k, [1.7], 1.7 ** k) for k in (2, 3, 1, -1, -2, 0.5, -0.5, 1.5)]

class Ops(unittest.TestCase):
    def test_each_op_gives_its_value_and_the_gradient_finite_differences_give(self):
        h = 1e-6
        for n, (f, xs, expected) in enumerate(OPS):
            with self.subTest(op=n, xs=xs):
                vs = [Value(x) for x in xs]
                out = f(*vs)
                out.backward()
                self.assertAlmostEqual(out.data, expected, delta=1e-12 * max(1.0, abs(expected)))
                for i, v in enumerate(vs):
                    nudged = lambda d: f(*[Value(x + d * (j == i)) for j, x in enumerate(xs)]).data
                    fd = (nudged(h) - nudged(-h)) / (2 * h)
                    self.assertAlmostEqual(v.grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=i)

    def test_a_reused_node_accumulates_its_gradient_and_backward_twice_accumulates_again(self):
        a, c = Value(3.0), Value(-2.0)
        (a * a + a).backward()  # a reaches the output three times: d/da = 2a + 1
        ((c + c) * (c * 3)).backward()  # 6c^2: d/dc = 12c
        self.assertEqual((a.grad, c.grad), (7.0, -24.0))
        xs = [Value(float(i)) for i in range(1, 5)]
        s = sum(x * x for x in xs)  # sum() starts from the plain number 0, as in the model
        s.backward()
        self.assertEqual((s.data, [x.grad for x in xs]), (30.0, [2.0, 4.0, 6.0, 8.0]))
        b = a * a
        b.backward()
        b.backward()
        self.assertEqual(a.grad, 7.0 + 2 * 6.0)


@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class AgainstPyTorch(unittest.TestCase):
    """micrograd's two sanity tests, plus log and exp, in float64: values and gradients to 1e-12."""

    def test_sanity_check_and_more_ops(self):
        def sanity(x):
            z = 2 * x + 2 + x
            q = z.relu() + z * x
            h = (z * z).relu()
            return h + q + q * x

        def more(a, b):
            c = a + b
            d = a * b + b ** 3
            c = c + c + 1
            c = c + 1 + c + (-a)
            d = d + d * 2 + (b + a).relu()
            d = d + 3 * d + (b - a).relu()
            e = c - d
            f = e ** 2
            g = f / 2.0
            g = g + 10.0 / f
            return g + (a * 0.1).exp() * (b * b).log() - 1 / (b - 0.5) ** 0.5
        for f, xs in ((sanity, [-4.0]), (more, [-4.0, 2.0])):
            ours = [Value(x) for x in xs]
            theirs = [torch.tensor([x], dtype=torch.float64, requires_grad=True) for x in xs]
            out, tout = f(*ours), f(*theirs)
            out.backward()
            tout.backward()
            pairs = [(v.grad, t.grad.item()) for v, t in zip(ours, theirs)]
            for a, b in [(out.data, tout.item())] + pairs:
                self.assertLessEqual(abs(a - b), 1e-12 * max(1.0, abs(b)), (f.__name__, a, b))

if __name__ == '__main__':
    unittest.main()

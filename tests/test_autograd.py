"""The Value engine: every op's value and gradient against finite differences, and a node used
twice (backward's lines and depth: test_settings_and_data.py and test_training.py; the whole
model's every gradient: test_twins.py)."""
import math, unittest

import harness

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

if __name__ == '__main__':
    unittest.main()

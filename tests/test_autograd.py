"""The Value autograd engine: every op's value and gradient against central finite differences, two
composite expressions (micrograd's sanity tests) against PyTorch in float64, the exact order of
backward's chain rule, and graphs deeper than Python's recursion limit."""
import math, random, sys, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

ns = harness.load('Autograd')
Value = ns['Value']


def finite_difference(f, xs, i, h=1e-6):
    """d f / d xs[i] by central differences, evaluating f on plain floats wrapped in fresh Values."""
    up = [Value(x + h if j == i else x) for j, x in enumerate(xs)]
    down = [Value(x - h if j == i else x) for j, x in enumerate(xs)]
    return (f(*up).data - f(*down).data) / (2 * h)


class Ops(unittest.TestCase):
    def check(self, f, xs, expected_value):
        vs = [Value(x) for x in xs]
        out = f(*vs)
        out.backward()
        self.assertAlmostEqual(out.data, expected_value, delta=1e-12 * max(1.0, abs(expected_value)))
        for i, v in enumerate(vs):
            fd = finite_difference(f, xs, i)
            self.assertAlmostEqual(v.grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=f'input {i}')

    def test_add_mul(self):
        self.check(lambda a, b: a + b, [1.5, -2.25], -0.75)
        self.check(lambda a, b: a * b, [1.5, -2.25], -3.375)

    def test_pow_positive_negative_fractional(self):
        for k in (2, 3, 1, -1, -2, 0.5, -0.5, 1.5):
            with self.subTest(k=k):
                self.check(lambda a: a ** k, [1.7], 1.7 ** k)

    def test_log_exp(self):
        self.check(lambda a: a.log(), [2.5], math.log(2.5))
        self.check(lambda a: a.exp(), [-0.3], math.exp(-0.3))

    def test_relu_on_both_sides_of_zero(self):
        self.check(lambda a: a.relu(), [0.8], 0.8)
        self.check(lambda a: a.relu(), [-0.8], 0.0)
        a = Value(-0.8)
        a.relu().backward()
        self.assertEqual(a.grad, 0.0)
        a = Value(0.8)
        a.relu().backward()
        self.assertEqual(a.grad, 1.0)

    def test_neg_sub_div(self):
        self.check(lambda a: -a, [0.7], -0.7)
        self.check(lambda a, b: a - b, [0.7, 2.0], -1.3)
        self.check(lambda a, b: a / b, [0.7, -2.0], -0.35)

    def test_plain_numbers_on_either_side(self):
        self.check(lambda a: a + 3, [0.5], 3.5)
        self.check(lambda a: 3 + a, [0.5], 3.5)
        self.check(lambda a: a * 3, [0.5], 1.5)
        self.check(lambda a: 3 * a, [0.5], 1.5)
        self.check(lambda a: a - 3, [0.5], -2.5)
        self.check(lambda a: 3 - a, [0.5], 2.5)
        self.check(lambda a: a / 4, [0.5], 0.125)
        self.check(lambda a: 4 / a, [0.5], 8.0)

    def test_reused_node_accumulates_its_gradient(self):
        a = Value(3.0)
        b = a * a + a  # a reaches the output three times: d/da = 2a + 1
        b.backward()
        self.assertEqual(a.grad, 7.0)
        c = Value(-2.0)
        d = (c + c) * (c * 3)  # 6c^2: d/dc = 12c
        d.backward()
        self.assertEqual(c.grad, -24.0)

    def test_sum_of_values_works_as_in_the_model(self):
        xs = [Value(float(i)) for i in range(1, 5)]
        s = sum(x * x for x in xs)
        s.backward()
        self.assertEqual(s.data, 30.0)
        self.assertEqual([x.grad for x in xs], [2.0, 4.0, 6.0, 8.0])


    def test_a_value_prints_its_data_and_grad(self):
        # what a notebook shows for a Value or a row of parameters
        a, b = Value(2.0), Value(-3.0)
        (a * b).backward()
        self.assertEqual(repr(a), 'Value(data=2.0, grad=-3.0)')
        self.assertEqual(repr([b]), '[Value(data=-3.0, grad=2.0)]')


class Backward(unittest.TestCase):
    def test_chain_rule_in_the_recursive_depth_first_order_bit_for_bit(self):
        # The reference orders the graph with a recursive depth-first post-order; the order in which
        # a shared node's gradient is summed changes its last bits. Ours must give the same bits.
        rng = random.Random(1)
        for trial in range(20):
            leaves = [Value(rng.uniform(0.5, 2.0)) for _ in range(6)]
            nodes = list(leaves)
            for _ in range(60):
                a, b = rng.choice(nodes[-12:]), rng.choice(nodes)
                op = rng.randrange(5)
                nodes.append(a + b if op == 0 else a * b if op == 1 else (a * 0.5).exp() if op == 2
                             else (a * a + 1.0).log() if op == 3 else a / (b * b + 1.0))
            out = sum(nodes[-10:])
            out.backward()
            ours = [n.grad for n in nodes]
            for n in nodes:
                n.grad = 0.0
            expected = reference_backward(out)
            self.assertEqual(ours, [expected.get(id(n), 0.0) for n in nodes], f'trial {trial}')

    def test_graph_far_deeper_than_the_recursion_limit(self):
        x = Value(1.0)
        y = x
        depth = 10 * sys.getrecursionlimit()
        for _ in range(depth):
            y = y * 1.0 + 0.0  # two nodes per link: a chain twice as deep as `depth`
        y.backward()
        self.assertEqual(x.grad, 1.0)

    def test_backward_twice_accumulates(self):
        a = Value(2.0)
        b = a * a
        b.backward()
        b.backward()
        self.assertEqual(a.grad, 8.0)


def reference_backward(root):
    """The reference's backward, recursion and all (only for small graphs), on a copy of the grads."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build(child)
            topo.append(v)
    build(root)
    grads = {id(v): 0.0 for v in topo}
    grads[id(root)] = 1.0
    for v in reversed(topo):
        for child, local in zip(v._children, v._local_grads):
            grads[id(child)] += local * grads[id(v)]
    return grads


@unittest.skipIf(torch is None, 'PyTorch is not installed (CI installs it)')
class AgainstPyTorch(unittest.TestCase):
    """micrograd's two sanity tests, plus log and exp, in float64: values and gradients to 1e-12."""

    def assertClose(self, ours, theirs):
        self.assertLessEqual(abs(ours - theirs), 1e-12 * max(1.0, abs(theirs)), (ours, theirs))

    def test_sanity_check(self):
        def f(x):
            z = 2 * x + 2 + x
            q = z.relu() + z * x
            h = (z * z).relu()
            return h + q + q * x
        x = Value(-4.0)
        y = f(x)
        y.backward()
        xt = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
        yt = f(xt)
        yt.backward()
        self.assertClose(y.data, yt.item())
        self.assertClose(x.grad, xt.grad.item())

    def test_more_ops(self):
        def f(a, b):
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
        a, b = Value(-4.0), Value(2.0)
        g = f(a, b)
        g.backward()
        at = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
        bt = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
        gt = f(at, bt)
        gt.backward()
        self.assertClose(g.data, gt.item())
        self.assertClose(a.grad, at.grad.item())
        self.assertClose(b.grad, bt.grad.item())


if __name__ == '__main__':
    unittest.main()

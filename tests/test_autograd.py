"""The Value autograd engine: every op's value and gradient against central finite differences, two
composite expressions (micrograd's sanity tests) against PyTorch in float64, the exact order of
backward's chain rule, and graphs deeper than Python's recursion limit."""
import math, random, sys, unittest

import harness

try:
    import torch
except ImportError:
    torch = None

Value = harness.load('Autograd')['Value']
# (expression, its inputs, its value): every op, with plain numbers on either side
OPS = [(lambda a, b: a + b, [1.5, -2.25], -0.75), (lambda a, b: a * b, [1.5, -2.25], -3.375),
       (lambda a: a.log(), [2.5], math.log(2.5)), (lambda a: a.exp(), [-0.3], math.exp(-0.3)),
       (lambda a: a.relu(), [0.8], 0.8), (lambda a: a.relu(), [-0.8], 0.0), (lambda a: -a, [0.7], -0.7),
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
                    nudged = lambda d: f(*[Value(x + d if j == i else x) for j, x in enumerate(xs)]).data
                    fd = (nudged(h) - nudged(-h)) / (2 * h)
                    self.assertAlmostEqual(v.grad, fd, delta=1e-6 * max(1.0, abs(fd)), msg=f'input {i}')

    def test_relu_passes_the_gradient_above_zero_only(self):
        for x, grad in ((-0.8, 0.0), (0.8, 1.0)):
            a = Value(x)
            a.relu().backward()
            self.assertEqual(a.grad, grad)

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

    def test_a_value_prints_its_data_and_grad(self):  # what a notebook shows for a Value or a row
        a, b = Value(2.0), Value(-3.0)
        (a * b).backward()
        self.assertEqual((repr(a), repr([b])), ('Value(data=2.0, grad=-3.0)', '[Value(data=-3.0, grad=2.0)]'))

class Backward(unittest.TestCase):
    def test_chain_rule_in_the_recursive_depth_first_order_bit_for_bit(self):
        # The reference orders the graph with a recursive depth-first post-order; the order in which
        # a shared node's gradient is summed changes its last bits. Ours must give the same bits.
        rng = random.Random(1)
        for trial in range(20):
            nodes = [Value(rng.uniform(0.5, 2.0)) for _ in range(6)]
            for _ in range(60):
                a, b = rng.choice(nodes[-12:]), rng.choice(nodes)
                op = rng.randrange(5)
                nodes.append(a + b if op == 0 else a * b if op == 1 else (a * 0.5).exp() if op == 2
                             else (a * a + 1.0).log() if op == 3 else a / (b * b + 1.0))
            out = sum(nodes[-10:])
            out.backward()
            ours = [n.grad for n in nodes]
            expected = reference_backward(out)
            self.assertEqual(ours, [expected.get(id(n), 0.0) for n in nodes], f'trial {trial}')

    def test_graph_far_deeper_than_the_recursion_limit(self):
        x = y = Value(1.0)
        for _ in range(10 * sys.getrecursionlimit()):
            y = y * 1.0 + 0.0  # two nodes per link
        y.backward()
        self.assertEqual(x.grad, 1.0)

def reference_backward(root):
    """The reference's backward, recursion and all (only for small graphs): {id(node): gradient}."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._children:
                build(child)
            topo.append(v)
    build(root)
    grads = dict.fromkeys(map(id, topo), 0.0)
    grads[id(root)] = 1.0
    for v in reversed(topo):
        for child, local in zip(v._children, v._local_grads):
            grads[id(child)] += local * grads[id(v)]
    return grads

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
            for a, b in [(out.data, tout.item())] + [(v.grad, t.grad.item()) for v, t in zip(ours, theirs)]:
                self.assertLessEqual(abs(a - b), 1e-12 * max(1.0, abs(b)), (f.__name__, a, b))

if __name__ == '__main__':
    unittest.main()

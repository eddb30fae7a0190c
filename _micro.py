import os
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[v] = "1"
import time, numpy as np
from benchmarks import step as B
from framework.autograd import tensor, sin
x, labels = B.synthetic_batch(); onehot = np.eye(10, dtype=np.float32)[labels]
params = [tensor(p, requires_grad=True) for p in B.initial_parameters()]
xt = tensor(x); lr = np.float32(0.01)
small = [tensor(p[:8, :8] if p.ndim == 2 else p[:8], requires_grad=True) for p in B.initial_parameters()]
xs = tensor(x[:4, :8]); ls = labels[:4] % 8
def run(f, n):
    times = []
    for r in range(7):
        s = time.process_time()
        for _ in range(n): f()
        times.append((time.process_time() - s) / n * 1e6)
    return sorted(times)[1]
full = lambda: B.framework_step(params, xt, labels, onehot, lr, B.fused_cross_entropy)
tiny = lambda: B.framework_step(small, xs, ls, None, lr, B.fused_cross_entropy)
def chain():
    y = tensor(np.linspace(0.1, 0.5, 4), requires_grad=True)
    z = y
    for _ in range(200): z = sin(z)
    z.sum().backward()
print(f"full {run(full, 300):.1f}  tiny {run(tiny, 3000):.2f}  chain200 {run(chain, 100):.1f}")

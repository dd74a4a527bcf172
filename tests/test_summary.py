"""Issue 30 item 10: ``summary()`` shows a DBN as its layers and counts parameters honestly."""
from tfrbm import DBMModel, DBNModel, RBMLayer, RBMModel


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_a_plain_cd_rbm_counts_no_unused_chains():
    rbm = RBMModel(RBMLayer(32), centering=False, seed=0)   # CD-1: the chains are never read
    rbm.build((None, 784))
    text = _summary(rbm)
    assert f"{rbm.layer.name} (RBMLayer)" in text and "(None, 32)" in text  # name: rbm_layer_N after other tests
    assert "Trainable params: 25,904" in text                   # 784 x 32 + 784 + 32
    assert "Non-trainable params: 785 (base-rate biases 784, initialised flag 1)" in text
    assert "79," not in text
    centered = RBMModel(RBMLayer(32), seed=0)     # the default centers: its offsets are state in use
    centered.build((None, 784))
    assert "visible offsets 784, hidden offsets 32" in _summary(centered)
    pcd = RBMModel(RBMLayer(32), persistent=True, n_chains=10, seed=0)
    pcd.build((None, 784))
    assert "persistent chains 7,840" in _summary(pcd)       # PCD uses them: counted, named


def test_a_dbn_shows_its_layers_not_its_trainers():
    dbn = DBNModel([RBMLayer(64, name="first"), RBMLayer(32, name="second")], seed=0)
    dbn.build((None, 784))
    text = _summary(dbn)
    assert "first (RBMLayer)" in text and "second (RBMLayer)" in text
    assert "RBMModel" not in text and "?" not in text
    assert "Trainable params: 53,168" in text       # (784*64 + 784 + 64) + (64*32 + 64 + 32)
    assert "Non-trainable params: 850" in text


def test_a_dbm_shows_its_weight_layers_and_its_chains():
    dbm = DBMModel(hidden=[64, 32], n_chains=10, seed=0)
    dbm.build((None, 784))
    text = _summary(dbm)
    assert "(None, 64)" in text and "(None, 32)" in text
    assert "Trainable params: 53,104" in text       # (784*64 + 784 + 64) + (64*32 + 32)
    # chains over every layer: 10 x (784 + 64 + 32)
    assert "Non-trainable params: 9,586 (persistent chains 8,800, base-rate biases 784" in text

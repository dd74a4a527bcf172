"""What the recommender's two RBMs share: hidden units that also see a binary side vector.

:class:`SideInputMixin` goes before :class:`~tfrbm.models.rbm.RBMModel` in the bases of
:class:`~tfrbm.models.ratings_rbm.RatingsRBM` (the side vector: which items a case rated, the
conditional RBM of Salakhutdinov, Mnih & Hinton 2007, section 4) and
:class:`~tfrbm.models.implicit_rbm.ImplicitRBM` (which films a user liked). With
``conditional=True`` the hidden units' input gains s D, D an (n_items, n_hidden) matrix that
starts at zero; the class names D's attribute and weight (``side_kernel_name``: saved files
keep it) and its visible width (``visible_width``). The model trains with a loss tracker of its
own (``loss``).
"""
import keras

from tfrbm import _compat

__all__ = ["SideInputMixin"]


class SideInputMixin:
    """An RBMModel with an optional side matrix D (see the module docstring)."""

    #: the attribute and weight name of D
    side_kernel_name = "side_kernel"

    def init_side_input(self, conditional):
        """Set ``conditional`` and the ``loss`` tracker (call at the end of ``__init__``)."""
        self.conditional = bool(conditional)
        self.loss_tracker = _compat.set_direction(keras.metrics.Mean(name="loss"), "down")

    @property
    def n_hidden(self):
        return self.layer.units

    @property
    def visible_width(self):
        """The number of visible units the layer is built with."""
        raise NotImplementedError

    def build(self, input_shape=None):
        super().build((None, self.visible_width))
        if self.conditional:
            setattr(self, self.side_kernel_name,
                    self.add_weight(name=self.side_kernel_name,
                                    shape=(self.n_items, self.layer.units), initializer="zeros"))
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def cd_variables(self):
        """W, b, c (and D): the variables the model's own update changes, in that order."""
        layer = self.layer
        out = [layer.kernel, layer.visible_bias, layer.hidden_bias]
        return out + [getattr(self, self.side_kernel_name)] if self.conditional else out

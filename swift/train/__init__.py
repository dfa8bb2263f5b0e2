"""Training workflows: sft / pt and, later, each alignment algorithm.

`from swift import train` is also the one-call training function (swift.api.train). Python binds a
subpackage as an attribute of its parent once imported, so `swift.train` may be this package
rather than the function; making the package callable keeps `swift.train(...)` working either way.
"""
import sys
import types


class _CallableModule(types.ModuleType):

    def __call__(self, *args, **kwargs):
        from swift.api import train
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

# lit configuration: FileCheck tests of blockc-opt passes and blockc diagnostics.
import os
import lit.formats

config.name = "blockc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".block"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.blockc_opt), "lit-out")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in", "CMakeLists.txt"]
config.substitutions.append(("%blockc-opt", config.blockc_opt))
config.substitutions.append(("%blockc", config.blockc))
config.substitutions.append(("%FileCheck", config.filecheck))
config.substitutions.append(("%examples", config.examples))

# `not` (and FileCheck's siblings) come from the LLVM tools directory, which is not on PATH.
config.environment["PATH"] = os.pathsep.join(
    [os.path.dirname(config.filecheck), os.environ.get("PATH", "")])

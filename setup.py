"""Ships benchmarks/ and results/references.csv inside the wheel as package data.

setup.cfg holds the metadata; this file only adds two data packages that live outside the
package folder (so a checkout keeps them where users read and edit them).
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["t2ir1_eval*"]) + ["t2ir1_eval.suite_specs", "t2ir1_eval.reference_data"],
    package_dir={"t2ir1_eval.suite_specs": "benchmarks", "t2ir1_eval.reference_data": "results"},
)

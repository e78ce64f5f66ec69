"""Builds the one native module, the relay's steady state (zorio_widget/media/native/_fastrelay.c
with its two sides, srtp_side.c and rtp_side.c, and their header relay.h).

``make`` runs ``python setup.py build_ext --inplace``; there is nothing else to package.
"""

from setuptools import Extension, setup

setup(
    name="zorio-webphone-native",
    version="1",
    packages=[],
    ext_modules=[
        Extension(
            "zorio_widget.media.native._fastrelay",
            ["zorio_widget/media/native/_fastrelay.c", "zorio_widget/media/native/srtp_side.c",
             "zorio_widget/media/native/rtp_side.c"],
            depends=["zorio_widget/media/native/relay.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
        )
    ],
)

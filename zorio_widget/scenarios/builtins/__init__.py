"""The scenarios every server has, by name: `announcement`, `ivr`, `voicemail`, `queue`.

Each module has `run(call, params)` and `check(params)` (the params it uses, with defaults, or
`ScenarioConfigError`); the README's scenarios section documents their params.
"""

"""Routes: numbers of a tenant that a scenario answers (docs/DESIGN.md §6b), as data.

A `Route` (tenant, number, scenario, params) says which scenario runs when that number is dialled;
the call layer's routing reads it for each new call (so a change applies to the next call, no
restart), and zorio_widget/scenarios/ runs it. This app is only the table: it sits below the call
layer, and the scenarios package (its admin, `add_route`) validates what goes in it.
"""

"""SIP trunks of a tenant (docs/DESIGN.md §7b): the ``Trunk`` model, its admin, ``manage.py add_trunk``.

The SIP user agent (``zorio_widget.sip``) never reads the database: ``config.trunk_configs()``
turns enabled trunks into ``TrunkConfig``s for it, and ``config.record_trunk_state`` stores the
registration state it reports, which the admin shows.
"""

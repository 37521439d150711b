"""What inventory does when other contexts' events arrive."""

from parcours.core.events import EventBus


def register(bus: EventBus) -> None:
    """Subscribe inventory's handlers (none yet: orders will allocate stock on payment)."""

from .entity_router import EntityRouter

__all__ = ['EntityRouter']

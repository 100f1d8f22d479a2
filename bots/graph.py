"""Graph algorithms for the loop rule: strongly connected components and a shortest cycle.

Pure functions over ``{node: [targets]}``; bots/validation.py reports what they find.
"""

from __future__ import annotations

from collections import deque


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit).

    ``edges`` lists every node as a key, in file order; each component comes back with its
    nodes in that order.
    """
    order = {name: i for i, name in enumerate(edges)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            name, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                elif target in on_stack:
                    low[name] = min(low[name], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[name])
            if low[name] == index[name]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == name:
                        break
                components.append(sorted(component, key=order.__getitem__))
    return components


def shortest_cycle(edges: dict[str, list[str]], start: str, within: set[str]) -> list[str]:
    """A shortest path start → ... → start inside one strongly connected component."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for target in edges[name]:
            if target == start:
                path = [name]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if target in within and target not in parent:
                parent[target] = name
                queue.append(target)
    return [start]  # pragma: no cover - callers pass a block on a cycle

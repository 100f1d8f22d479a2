"""The flow language as pydantic models: one small class per block type, no behaviour.

A bot file (``flows/loja.yaml``) is parsed by :mod:`bots.loader` into :class:`BotFlow`.
The models are strict (unknown keys are errors) so a typo in a flow is caught at load time,
not in the middle of a customer's conversation.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from bots.schedule import Schedule

HumanOutcome = Literal["finished", "closed", "no_agents", "abandoned", "voicemail", "unavailable"]
"""Every way a Humano block can end; each may be routed with ``on:``."""

RESERVED_VARIABLES = frozenset({"contact", "agent", "next_opening", "bot", "conversation", "csat"})
"""Template names the runtime provides; ``save_as`` may not shadow them."""

BlockName = Annotated[str, Field(min_length=1, max_length=100)]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


def _timeout_pair() -> PydanticCustomError:
    """A refusal with its own code (a flow issue's `code`), so a screen can say it in pt-BR."""
    return PydanticCustomError("timeout_pair", "timeout_seconds and on_timeout go together")


class Strict(BaseModel):
    """Base for every flow model: unknown keys are errors, values are not coerced silently.

    A number where text is expected (``label: 1``) is taken as its text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class HumanService(Strict):
    """The bot's "Atendimento Humano" settings."""

    platform: Literal["omni_v2"] = "omni_v2"
    omni_key: str = Field(min_length=1, description="API key of the Omni integration (or ${ENV}).")
    wait_time_notice: Literal["never", "once", "periodic"] = "never"


class EscapeRoute(Strict):
    """A "rota de fuga": keywords or inactivity lead to a text or a jump."""

    keywords: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    inactivity_seconds: int | None = Field(default=None, gt=0)
    text: str | None = None
    goto: BlockName | None = None

    @model_validator(mode="after")
    def _one_trigger_one_action(self) -> EscapeRoute:
        if bool(self.keywords) == (self.inactivity_seconds is not None):
            message = "an escape route needs either keywords or inactivity_seconds"
            raise PydanticCustomError("escape_route_trigger", message)
        if (self.text is None) == (self.goto is None):
            raise PydanticCustomError(
                "escape_route_action", "an escape route needs either text or goto"
            )
        return self


class HttpSettings(Strict):
    """What the flow's ``http`` blocks may reach."""

    allow_private_addresses: bool = False


class Channels(Strict):
    """Where customers may reach the bot besides server-side connectors (which need a key)."""

    web: bool = Field(
        default=False,
        description="Public web chat: browsers get a session from the server (no key).",
    )


class MessageBlock(Strict):
    """Say something, then go on."""

    type: Literal["message"]
    text: str
    next: BlockName


class QuestionBlock(Strict):
    """Ask, wait for the answer, check it against ``pattern``, save it as a variable."""

    type: Literal["question"]
    text: str
    save_as: VariableName
    pattern: str | None = None
    retry_text: str = "Não entendi. Pode repetir?"
    max_retries: int = Field(default=3, ge=0)
    on_invalid: BlockName | None = None
    timeout_seconds: int | None = Field(default=None, gt=0)
    on_timeout: BlockName | None = None
    next: BlockName

    @model_validator(mode="after")
    def _timeout_has_branch(self) -> QuestionBlock:
        if (self.timeout_seconds is None) != (self.on_timeout is None):
            raise _timeout_pair()
        return self


class MenuOption(Strict):
    label: str = Field(min_length=1)
    next: BlockName
    keywords: list[str] = Field(default_factory=list)


class MenuBlock(Strict):
    """Offer numbered options; the customer answers with the number or the label."""

    type: Literal["menu"]
    text: str
    options: list[MenuOption] = Field(min_length=1)
    save_as: VariableName | None = None
    invalid_text: str = "Opção inválida. Escolha uma das opções."
    """Neutral on purpose: WhatsApp lists and Telegram buttons show no numbers to answer with."""
    max_retries: int = Field(default=3, ge=0)
    on_invalid: BlockName | None = None
    timeout_seconds: int | None = Field(default=None, gt=0)
    on_timeout: BlockName | None = None

    @model_validator(mode="after")
    def _timeout_has_branch(self) -> MenuBlock:
        if (self.timeout_seconds is None) != (self.on_timeout is None):
            raise _timeout_pair()
        return self


class ConditionBranch(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: str = Field(alias="if", description="A template expression, e.g. `cpf | length == 11`.")
    next: BlockName


class ConditionBlock(Strict):
    """Go to the first branch whose expression is true, else to ``else``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["condition"]
    branches: list[ConditionBranch] = Field(min_length=1)
    otherwise: BlockName = Field(alias="else")


class SetBlock(Strict):
    """Set variables from templates."""

    type: Literal["set"]
    values: dict[VariableName, str] = Field(min_length=1)
    next: BlockName


class HttpBlock(Strict):
    """Call an external HTTP API (as an activity) and save the JSON answer."""

    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    save_as: VariableName | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=60)
    next: BlockName
    on_error: BlockName | None = None


class HumanBlock(Strict):
    """The Humano block: hand the customer over to an Omni service."""

    type: Literal["human"]
    service: str | None = Field(default=None, description="Fila de atendimento (default: key's).")
    text: str | None = Field(default=None, description="Frase de pré-transferência.")
    show_agent_name: bool = True
    check_hours: bool = True
    check_agents_online: bool = False
    max_wait_seconds: int | None = Field(default=None, gt=0)
    priority: int | str | None = Field(
        default=None,
        description="Queue priority: a number or a template, e.g. {{ vars.vip and 5 or 0 }}.",
    )
    skills: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20, description="Skills the agent must have."
    )
    on: dict[HumanOutcome, BlockName] = Field(default_factory=dict)
    next: BlockName | None = Field(default=None, description="Where outcomes without `on` go.")


class EndBlock(Strict):
    """Say goodbye (optionally) and end the conversation."""

    type: Literal["end"]
    text: str | None = None


Block = Annotated[
    MessageBlock
    | QuestionBlock
    | MenuBlock
    | ConditionBlock
    | SetBlock
    | HttpBlock
    | HumanBlock
    | EndBlock,
    Field(discriminator="type"),
]


class BotFlow(Strict):
    """A whole bot file."""

    bot: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="The Omni 'Nome bot'.")
    human_service: HumanService | None = None
    schedule: Schedule | None = None
    escape_routes: list[EscapeRoute] = Field(default_factory=list)
    http: HttpSettings = Field(default_factory=HttpSettings)
    channels: Channels = Field(default_factory=Channels)
    start: BlockName
    blocks: dict[BlockName, Block] = Field(min_length=1)

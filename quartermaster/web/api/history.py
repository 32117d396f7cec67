"""GET /history/<id>: how a job came to be where it is: its request and its timeline."""

from flask import Blueprint
from flask.typing import ResponseReturnValue

from quartermaster.jobs.tenancy import READ
from quartermaster.web import context
from quartermaster.web.describe import describe
from quartermaster.web.schemas import HistoryResponse, validate_path_reference

blueprint = Blueprint("history", __name__)
RESPONSE = HistoryResponse()  # made once: see status.py


@blueprint.get("/history/<job_id>")
@describe(
    summary="A job's request as recorded and its timeline of status changes",
    response=HistoryResponse,
    errors=(400, 404, 409, 503),
    right=READ,
)
def history(job_id: str) -> ResponseReturnValue:
    validate_path_reference(job_id)
    return RESPONSE.dump(context.jobs().job_history(context.actor(), job_id))

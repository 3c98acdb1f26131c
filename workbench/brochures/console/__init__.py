"""The brochure pages of the staff console (/console/brochures): the list, upload and edit, a
brochure with its pages, versions and actions, and compliance's review queue.

Every page calls the API's own functions (`workflow`, `views`) with the console's `Caller`, so
roles, org-subtree scope and the workflow's rules are exactly the API's: a brochure of another
subtree is the 404 page, and a refusal of the workflow (an illegal transition, a review of one's
own upload, a bad window) is a message on the page the form came from, with the form as it was
sent. Each change runs in a savepoint: a refused one leaves nothing behind (no stored image).

Uploads take two shapes on one URL: the page's script sends the API's multipart shape (`meta`
JSON and one `pages` file per page, in the order chosen) with `Accept: application/json` and
gets JSON back (where to go, or the errors per field and per file); without script, the form's
own fields and files (pages in the order picked; an edit keeps the pages left ticked).
"""

from workbench.brochures.console._actions import approve, publish, reject, submit, unpublish
from workbench.brochures.console._forms import (
    create_brochure,
    edit_brochure,
    new_brochure,
    save_brochure,
)
from workbench.brochures.console._list import brochure_list
from workbench.brochures.console._pages import brochure_page, review_page, review_queue

PAGES = [
    brochure_list,
    new_brochure,
    create_brochure,
    review_queue,
    review_page,
    brochure_page,
    edit_brochure,
    save_brochure,
    submit,
    approve,
    reject,
    publish,
    unpublish,
]

__all__ = ["PAGES"]

"""Settings: language, caption style, shortcuts, devices.  Applied when accepted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from client.settings import CAPTION_SIZES, Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle(self.tr("Settings"))
        self.setModal(True)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.language = QComboBox(self)
        self.language.setAccessibleName(self.tr("Language"))
        for code, label in (
            ("system", self.tr("Follow the system")),
            ("fr", "Français"),
            ("en", "English"),
        ):
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.caption_size = QComboBox(self)
        self.caption_size.setAccessibleName(self.tr("Caption size"))
        names = {
            "S": self.tr("Small"),
            "M": self.tr("Medium"),
            "L": self.tr("Large"),
            "XL": self.tr("Extra large (room screens)"),
        }
        for size in CAPTION_SIZES:
            self.caption_size.addItem(names[size], size)
        self.caption_size.setCurrentIndex(max(0, self.caption_size.findData(settings.caption_size)))
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setAccessibleName(self.tr("Caption background opacity"))
        self.opacity.setRange(0, 100)
        self.opacity.setValue(int(settings.caption_background_opacity * 100))
        self.shortcuts = QCheckBox(self.tr("Keyboard shortcuts (M, V, C, H, Space)"), self)
        self.shortcuts.setChecked(settings.shortcuts_enabled)
        self.captions_on = QCheckBox(self.tr("Show captions when joining"), self)
        self.captions_on.setChecked(settings.captions_on)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Caption size"), self.caption_size)
        form.addRow(self.tr("Caption background"), self.opacity)
        form.addRow("", self.captions_on)
        form.addRow("", self.shortcuts)
        devices = QLabel(self.tr("Camera and microphone: test sources in this version."), self)
        devices.setWordWrap(True)
        form.addRow(self.tr("Devices"), devices)
        layout.addLayout(form)
        self.note = QLabel(self.tr("A new language applies the next time the app starts."), self)
        self.note.setObjectName("subtitle")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _apply(self) -> None:
        self.settings.language = str(self.language.currentData())
        self.settings.caption_size = str(self.caption_size.currentData())
        self.settings.caption_background_opacity = self.opacity.value() / 100
        self.settings.shortcuts_enabled = self.shortcuts.isChecked()
        self.settings.captions_on = self.captions_on.isChecked()
        self.accept()

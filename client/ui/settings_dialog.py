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

from client.local_media import DeviceChoice, LocalDevicesChanged
from client.media.camera import CamerasChanged
from client.settings import CAPTION_SIZES, Settings


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        devices: LocalDevicesChanged | None = None,
        cameras: CamerasChanged | None = None,
    ) -> None:
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
        self.microphone = self._device_menu(
            self.tr("Microphone"),
            devices.microphones if devices else (),
            settings.microphone_device,
        )
        self.speaker = self._device_menu(
            self.tr("Speaker"), devices.speakers if devices else (), settings.speaker_device
        )
        camera_choices = tuple(
            DeviceChoice(d.id, d.name) for d in (cameras.devices if cameras else ())
        )
        self.camera = self._device_menu(
            self.tr("Camera"),
            camera_choices,
            settings.camera_device,
            default=self.tr("First found"),
        )
        form.addRow(self.tr("Camera"), self.camera)
        form.addRow(self.tr("Microphone"), self.microphone)
        form.addRow(self.tr("Speaker"), self.speaker)
        self.echo_cancellation = QCheckBox(self.tr("Echo cancellation (no headset needed)"), self)
        self.noise_suppression = QCheckBox(self.tr("Noise suppression"), self)
        self.auto_gain = QCheckBox(self.tr("Automatic microphone level"), self)
        self.high_pass = QCheckBox(self.tr("Remove low rumble (high-pass filter)"), self)
        for box, on in (
            (self.echo_cancellation, settings.echo_cancellation),
            (self.noise_suppression, settings.noise_suppression),
            (self.auto_gain, settings.auto_gain),
            (self.high_pass, settings.high_pass),
        ):
            box.setChecked(on)
            form.addRow("", box)
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
        self.settings.camera_device = str(self.camera.currentData() or "")
        self.settings.microphone_device = str(self.microphone.currentData() or "")
        self.settings.speaker_device = str(self.speaker.currentData() or "")
        self.settings.echo_cancellation = self.echo_cancellation.isChecked()
        self.settings.noise_suppression = self.noise_suppression.isChecked()
        self.settings.auto_gain = self.auto_gain.isChecked()
        self.settings.high_pass = self.high_pass.isChecked()
        self.accept()

    def _device_menu(
        self,
        name: str,
        devices: tuple[DeviceChoice, ...],
        current: str,
        *,
        default: str = "",
    ) -> QComboBox:
        menu = QComboBox(self)
        menu.setAccessibleName(name)
        menu.addItem(default or self.tr("System default"), "")
        for device in devices:
            menu.addItem(device.name, device.id)
        if current and menu.findData(current) < 0:
            # Chosen before, not plugged in now: kept, and used again when it is back.
            menu.addItem(self.tr("%1 (not connected)").replace("%1", current), current)
        menu.setCurrentIndex(max(0, menu.findData(current)))
        return menu
